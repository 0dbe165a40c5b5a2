"""The circuit breaker's state machine, driven by an injected clock (no database)."""

from __future__ import annotations

import threading

import pytest

from trading.exchange.base import CircuitOpen
from trading.exchange.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Flaky:
    """A dependency that fails while ``down`` and counts how often it was called."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def __call__(self, value: int = 1) -> int:
        self.calls += 1
        if self.down:
            raise ConnectionError("down")
        return value


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown_s=30, clock=clock)


def fail_times(breaker: CircuitBreaker, dependency: Flaky, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ConnectionError):
            breaker.call(dependency)


def test_closed_breaker_passes_calls_and_results_through(breaker):
    dependency = Flaky()
    assert breaker.call(dependency, 7) == 7
    assert breaker.state == CLOSED and breaker.opened_at is None


def test_it_opens_after_the_threshold_of_consecutive_failures(breaker, clock):
    dependency = Flaky()
    dependency.down = True
    fail_times(breaker, dependency, 2)
    assert breaker.state == CLOSED and breaker.failures == 2

    fail_times(breaker, dependency, 1)

    assert breaker.state == OPEN and breaker.opened_at == clock.now
    with pytest.raises(CircuitOpen, match=r"another 30\.0 s"):
        breaker.call(dependency)
    assert dependency.calls == 3  # the open breaker did not call it


def test_a_success_resets_the_failure_count(breaker):
    dependency = Flaky()
    dependency.down = True
    fail_times(breaker, dependency, 2)
    dependency.down = False
    breaker.call(dependency)
    dependency.down = True
    fail_times(breaker, dependency, 2)
    assert breaker.state == CLOSED


def test_after_the_cooldown_one_trial_success_closes_it(breaker, clock):
    dependency = Flaky()
    dependency.down = True
    fail_times(breaker, dependency, 3)
    clock.now += 29.9
    assert breaker.state == OPEN
    assert breaker.retry_after_s() == pytest.approx(0.1)
    clock.now += 0.1
    assert breaker.state == HALF_OPEN

    dependency.down = False
    assert breaker.call(dependency, 5) == 5

    assert breaker.state == CLOSED and breaker.opened_at is None and breaker.failures == 0


def test_a_failed_trial_reopens_it_for_a_full_cooldown(breaker, clock):
    dependency = Flaky()
    dependency.down = True
    fail_times(breaker, dependency, 3)
    clock.now += 30

    fail_times(breaker, dependency, 1)  # the trial

    assert breaker.state == OPEN and breaker.opened_at == clock.now
    with pytest.raises(CircuitOpen):
        breaker.call(dependency)
    assert dependency.calls == 4


def test_half_open_lets_only_one_trial_through_at_a_time(breaker, clock):
    dependency = Flaky()
    dependency.down = True
    fail_times(breaker, dependency, 3)
    clock.now += 30
    started, release = threading.Event(), threading.Event()

    def slow_trial() -> str:
        started.set()
        release.wait(5)
        return "ok"

    results: list[str] = []
    trial = threading.Thread(target=lambda: results.append(breaker.call(slow_trial)))
    trial.start()
    started.wait(5)
    with pytest.raises(CircuitOpen):
        breaker.call(dependency)  # a second caller while the trial runs
    release.set()
    trial.join(5)

    assert results == ["ok"] and breaker.state == CLOSED


def test_errors_that_are_not_failures_prove_the_dependency_is_up(clock):
    breaker = CircuitBreaker(
        failure_threshold=1, cooldown_s=10, clock=clock, failure_types=(ConnectionError,)
    )

    def refuses() -> None:
        raise LookupError("no such symbol")

    for _ in range(3):
        with pytest.raises(LookupError):
            breaker.call(refuses)
    assert breaker.state == CLOSED


def test_reset_closes_it(breaker):
    dependency = Flaky()
    dependency.down = True
    fail_times(breaker, dependency, 3)
    breaker.reset()
    dependency.down = False
    assert breaker.state == CLOSED and breaker.call(dependency) == 1


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError, match="cooldown_s"):
        CircuitBreaker(cooldown_s=-1)
