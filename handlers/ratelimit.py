"""Inbound rate limits: a token bucket per chat and one for everyone, with escalation to a block.

In memory, per process: limits protect this process's capacity. Blocks, which officers must see and lift,
are stored (storage/blocks.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    OK = "ok"
    SLOW_DOWN = "slow_down"
    BLOCK = "block"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    violations: int = 0


class RateLimiter:
    """``check(key)`` spends one token from the chat's bucket and the global bucket."""

    def __init__(self, *, user_burst: int, user_per_minute: int, global_per_second: int, block_after: int,
                 clock: Callable[[], float] = time.monotonic, max_tracked: int = 100_000) -> None:
        self.user_burst = float(user_burst)
        self.user_rate = user_per_minute / 60.0
        self.global_rate = float(global_per_second)
        self.block_after = block_after
        self.clock = clock
        self.max_tracked = max_tracked
        self._buckets: dict[Hashable, _Bucket] = {}
        now = clock()
        self._global = _Bucket(tokens=self.global_rate, updated=now)

    @staticmethod
    def _refill(bucket: _Bucket, rate: float, capacity: float, now: float) -> None:
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now

    def check(self, key: Hashable) -> Verdict:
        now = self.clock()
        self._refill(self._global, self.global_rate, self.global_rate, now)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_tracked:
                self._forget_idle(now)
            bucket = self._buckets[key] = _Bucket(tokens=self.user_burst, updated=now)
        else:
            self._refill(bucket, self.user_rate, self.user_burst, now)
        if bucket.tokens < 1.0:
            bucket.violations += 1
            return Verdict.BLOCK if bucket.violations >= self.block_after else Verdict.SLOW_DOWN
        if self._global.tokens < 1.0:
            return Verdict.SLOW_DOWN  # everyone is busy: not this parent's fault, never a block
        bucket.tokens -= 1.0
        bucket.violations = 0
        self._global.tokens -= 1.0
        return Verdict.OK

    def has_token(self, key: Hashable) -> bool:
        """Would ``check`` pass now? Spends nothing (an upload asks before it stores a single byte)."""
        now = self.clock()
        bucket = self._buckets.get(key)
        tokens = self.user_burst if bucket is None else min(
            self.user_burst, bucket.tokens + (now - bucket.updated) * self.user_rate)
        global_tokens = min(self.global_rate, self._global.tokens + (now - self._global.updated) * self.global_rate)
        return tokens >= 1.0 and global_tokens >= 1.0

    def reset(self, key: Hashable) -> None:
        """Forget a chat's history (after a block, so it starts fresh when the block ends)."""
        self._buckets.pop(key, None)

    def _forget_idle(self, now: float) -> None:
        # Buckets that have refilled completely carry no information: drop them to bound memory.
        full_after = self.user_burst / self.user_rate if self.user_rate else 0.0
        for key in [k for k, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[key]
