"""Throttles, with the `limits` library: sign-in attempts counted per user name and per client address, and a
unit's person look-ups that find no one counted per unit user, in fixed windows. Their storage is this
process's memory: counts start again when the service restarts and each server process counts on its own (the
limits in settings are per process).

An attempt takes its place in both counts before the password is tried (`reserve`), so parallel guesses cannot
all pass the check before any of them is counted; a right password gives the places back (`succeeded`).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from yibao.config import Settings


class SignInThrottle:
    """How many failures a user name and an address may have within the window, and how long to wait after."""

    def __init__(self, settings: Settings) -> None:
        self._storage = MemoryStorage()
        self._limiter = FixedWindowRateLimiter(self._storage)
        window = settings.sign_in_window_seconds
        self._per_user = RateLimitItemPerSecond(settings.sign_in_max_failures, window)
        self._per_address = RateLimitItemPerSecond(settings.sign_in_max_failures_per_address, window)

    def _counts(self, user_key: str, address: str):
        return ((self._per_user, ("user", user_key)), (self._per_address, ("address", address)))

    def reserve(self, *, user_key: str, address: str) -> int | None:
        """Count an attempt for the user name and the address; None when it may be made, else the seconds to
        wait (the attempt is then not made, and its place is given back)."""
        counts = self._counts(user_key, address)
        if all([self._limiter.hit(item, *keys) for item, keys in counts]):  # both counted, either way
            return None
        for item, keys in counts:
            self._give_back(item, keys)
        waits = [self._limiter.get_window_stats(item, *keys).reset_time - time.time()
                 for item, keys in self._counts(user_key, address) if not self._limiter.test(item, *keys)]
        return max(1, math.ceil(max(waits, default=1)))

    def succeeded(self, *, user_key: str, address: str) -> None:
        """A right password: the user's own count starts again, and the address gets its place back (its other
        failures stay: one good account must not wipe what an address tried on others)."""
        self._limiter.clear(self._per_user, "user", user_key)
        self._give_back(self._per_address, ("address", address))

    def clear(self, *, user_key: str) -> None:
        """The user's count starts again (an admin gave them a new password)."""
        self._limiter.clear(self._per_user, "user", user_key)

    def _give_back(self, item, keys: tuple[str, str]) -> None:
        self._storage.decr(item.key_for(*keys))


class LookupThrottle:
    """How many look-ups that find no one a unit user may make within the window (an ID number with the wrong
    name counts as one), and how long to wait after. Counted like sign-in: in this process's memory, each
    attempt taking its place before the register is asked, a look-up that finds the person giving it back."""

    def __init__(self, settings: Settings) -> None:
        self._storage = MemoryStorage()
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._misses = RateLimitItemPerSecond(settings.unit_lookup_max_misses, settings.unit_lookup_window_seconds)

    def reserve(self, *, user_key: str) -> int | None:
        """Count a look-up for the user; None when it may be made, else the seconds to wait (not made)."""
        keys = ("lookup", user_key)
        if self._limiter.hit(self._misses, *keys):
            return None
        self._storage.decr(self._misses.key_for(*keys))
        reset = self._limiter.get_window_stats(self._misses, *keys).reset_time
        return max(1, math.ceil(reset - time.time()))

    def found(self, *, user_key: str) -> None:
        """The look-up found the person: its place is given back (only misses count)."""
        self._storage.decr(self._misses.key_for("lookup", user_key))


class RequestThrottle:
    """How many requests one key (an e-voucher, an address) may make within a window: every request counts."""

    def __init__(self, *, per_key: int, window_seconds: int) -> None:
        self._storage = MemoryStorage()
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._item = RateLimitItemPerSecond(per_key, window_seconds)

    def hit(self, *keys: str) -> int | None:
        """Count a request for each key; None when it may be made, else the seconds to wait."""
        if all([self._limiter.hit(self._item, key) for key in keys]):
            return None
        waits = [self._limiter.get_window_stats(self._item, key).reset_time - time.time() for key in keys]
        return max(1, math.ceil(max(waits, default=1)))
