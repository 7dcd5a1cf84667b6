"""Full-jitter exponential backoff, shared by every stage that reconnects (feeds, MQTT)."""

from __future__ import annotations

import random


class Backoff:
    """Full-jitter exponential backoff (base doubling up to cap)."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base, self.cap, self.attempt = base, cap, 0
        self.rng = rng or random.Random()

    def next_delay(self) -> float:
        d = self.rng.uniform(0, min(self.cap, self.base * (2**self.attempt)))
        self.attempt += 1
        return d

    def reset(self) -> None:
        self.attempt = 0
