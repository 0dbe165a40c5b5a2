"""The online model's state survives killing the Celery worker: a new worker continues the
sample count where the old one stopped, and nothing is learned twice."""

from __future__ import annotations

import time

import pytest

from cryptobot.testing.fixtures import live_env
from cryptobot.testing.live import LiveProcesses
from ml.models import OnlineModel
from ml.online import OnlineConfig, OnlineLearner
from ml.services.hybrid import collection_start
from ml.tasks import online_learn_task
from ml.tests.conftest import replay_frame, store_candles
from trading.strategies.frames import candles_time_ms


def _learned_until(last_ms: int, workers, timeout: float = 90) -> OnlineModel:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = OnlineModel.objects.filter(symbol="BTCUSDT").first()
        if model and model.last_candle and model.last_candle.timestamp() * 1000 >= last_ms:
            return model
        time.sleep(0.2)
    raise AssertionError(f"the worker did not learn up to {last_ms}:\n{workers.log()}")


def _task_succeeded(task_id: str, workers, timeout: float = 60) -> None:
    """Wait until the worker's log says the task ended (tasks keep no result)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = workers.log_path.read_text(errors="replace")
        if f"[{task_id}] succeeded" in log:
            return
        assert f"[{task_id}] raised" not in log, workers.log()
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish:\n{workers.log()}")


@pytest.mark.live
def test_online_model_resumes_after_the_worker_is_killed(
    live_worker, markets, frozen_replay, hours
):
    frame = replay_frame(hours, 700)
    closed = frame.iloc[:-1]  # the newest candle is still forming
    first, second = closed.iloc[:-60], closed.iloc[-60:]
    store_candles(first)
    collection_start(symbol="BTCUSDT", timeframe="1h")
    online_learn_task.delay()
    before = _learned_until(int(candles_time_ms(first)[-1]), live_worker)
    assert before.samples_seen > 100

    # The worker is killed (SIGKILL: it saves nothing on the way out); its successor
    # starts from the saved state.
    assert live_worker.children(), live_worker.log()
    live_worker.kill()
    successor = LiveProcesses(("worker",), live_env(), log_name="successor")
    try:
        store_candles(second)
        store_candles(frame.iloc[-1:])
        online_learn_task.delay()
        after = _learned_until(int(candles_time_ms(second)[-1]), successor)
        # the same candles again: nothing new to learn
        _task_succeeded(online_learn_task.delay().id, successor)
        again = OnlineModel.objects.get(symbol="BTCUSDT")
    finally:
        successor.kill()

    # one uninterrupted learner over the same closed candles
    reference = OnlineLearner(OnlineConfig())
    reference.process(closed)
    expected = reference.stats()["samples_seen"]
    assert after.samples_seen == expected > before.samples_seen
    assert again.samples_seen == expected
