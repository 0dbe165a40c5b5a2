"""A small thread-safe circuit breaker: stop calling a failing dependency for a while.

closed --(failure_threshold consecutive failures)--> open --(cooldown_s elapsed)--> half-open
half-open: exactly one trial call goes through; success closes, failure re-opens (and the
cool-down starts again). While open, ``call`` raises CircuitOpen without calling anything.

Only exceptions of ``failure_types`` count as failures. Any other Exception means the
dependency answered (e.g. "unknown symbol"), so it counts as a success and is re-raised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from trading.exchange.base import CircuitOpen

P = ParamSpec("P")
R = TypeVar("R")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures of calls made through it; see the module docstring.

    ``clock`` returns seconds (monotonic by default; tests inject a fake one).
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        failure_types: tuple[type[BaseException], ...] = (Exception,),
        name: str = "exchange",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if cooldown_s < 0:
            raise ValueError("cooldown_s must be >= 0")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.failure_types = failure_types
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._opened_at: float | None = None  # clock() when it last opened; None when closed
        self._failures = 0  # consecutive failures while closed
        self._trial_running = False

    @property
    def state(self) -> str:
        """'closed', 'open', or 'half_open' (cool-down over: the next call is a trial)."""
        with self._lock:
            return self._state()

    @property
    def opened_at(self) -> float | None:
        """Clock time at which the breaker (last) opened; None while closed."""
        return self._opened_at

    @property
    def failures(self) -> int:
        """Consecutive failures counted so far while closed."""
        return self._failures

    def retry_after_s(self) -> float:
        """Seconds until a trial call is allowed (0 when closed or half-open)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.cooldown_s - self._clock())

    def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn`` unless the breaker is open; record the outcome.

        Raises CircuitOpen (without calling ``fn``) while open, and while half-open when
        another thread's trial call is still running.
        """
        self._before_call()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, self.failure_types):
                self._record_failure()
            elif isinstance(exc, Exception):
                self._record_success()
            else:  # KeyboardInterrupt and friends: no verdict on the dependency
                self._release_trial()
            raise
        self._record_success()
        return result

    def reset(self) -> None:
        """Close the breaker and forget past failures."""
        with self._lock:
            self._opened_at = None
            self._failures = 0
            self._trial_running = False

    # -- internals (call with the lock held unless stated) -------------------------------

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        if self._trial_running or self._clock() - self._opened_at >= self.cooldown_s:
            return HALF_OPEN
        return OPEN

    def _before_call(self) -> None:
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return
            if state == HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return
            assert self._opened_at is not None
            wait = max(0.0, self._opened_at + self.cooldown_s - self._clock())
        raise CircuitOpen(
            f"{self.name} circuit is open after {self.failure_threshold} consecutive failures; "
            f"not calling it for another {wait:.1f} s"
        )

    def _record_success(self) -> None:
        with self._lock:
            self._opened_at = None
            self._failures = 0
            self._trial_running = False

    def _record_failure(self) -> None:
        with self._lock:
            if self._trial_running or self._opened_at is not None:
                self._opened_at = self._clock()  # the trial failed: open for another cool-down
                self._trial_running = False
                return
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
                self._failures = 0

    def _release_trial(self) -> None:
        with self._lock:
            self._trial_running = False
