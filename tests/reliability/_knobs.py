"""Knobs of the reliability suite, read from the environment.

The defaults keep ``make test`` short; raise them to search harder:

- ``THREADLINE_RELIABILITY_KILLS``: how many times the crash test SIGKILLs a writer
  (default 40).
- ``THREADLINE_RELIABILITY_TURNS``: turns each concurrent writer commits (default 60).
- ``THREADLINE_RELIABILITY_SEED``: the seed of the crash test's kill schedule, to
  replay a failure (a failing run names its seed).
- ``THREADLINE_FUZZ_PROFILE``: ``ci`` (default, about 2,400 examples in all) or
  ``deep`` (ten times as many) for the hypothesis fuzz of the public API.
"""

from __future__ import annotations

import os
import random


def env_int(name: str, default: int, minimum: int = 1) -> int:
    value = int(os.environ.get(name, default))
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


def env_seed() -> int:
    seed = os.environ.get("THREADLINE_RELIABILITY_SEED")
    return int(seed) if seed else random.SystemRandom().randrange(2**32)
