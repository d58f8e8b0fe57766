"""Sign-in throttling: failed sign-ins counted per user name and per client address in a moving window, with
the `limits` library. Its storage is this process's memory: counts start again when the service restarts and
each server process counts on its own (the limits in settings are per process)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from yibao.config import Settings


class SignInThrottle:
    """How many failures a user name and an address may have within the window, and how long to wait after."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        window = settings.sign_in_window_seconds
        self._per_user = RateLimitItemPerSecond(settings.sign_in_max_failures, window)
        self._per_address = RateLimitItemPerSecond(settings.sign_in_max_failures_per_address, window)

    def _keys(self, user_key: str, address: str):
        return ((self._per_user, "user", user_key), (self._per_address, "address", address))

    def retry_after(self, *, user_key: str, address: str) -> int | None:
        """Seconds until a sign-in for this user name from this address may be tried, or None: it may now."""
        waits = []
        for item, kind, key in self._keys(user_key, address):
            if not self._limiter.test(item, kind, key):
                reset_at, _ = self._limiter.get_window_stats(item, kind, key)
                waits.append(max(1, math.ceil(reset_at - time.time())))
        return max(waits, default=None)

    def failed(self, *, user_key: str, address: str) -> None:
        for item, kind, key in self._keys(user_key, address):
            self._limiter.hit(item, kind, key)

    def succeeded(self, *, user_key: str) -> None:
        """The user's own count starts again; the address's does not (one good account must not wipe the
        failures an address made on others)."""
        self._limiter.clear(self._per_user, "user", user_key)
