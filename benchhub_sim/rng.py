"""Randomness: one helper normalises every ``seed`` argument; no module-level RNG.

Simulated task durations use *common random numbers*: the k-th job of a given spec
draws its durations from streams keyed by (spec, task position), in order of k. A job's
durations therefore depend on the seed, its spec and its rank among that spec's jobs —
not on the policy, the cluster or the order jobs happen to start in — so two policies
are compared on the same jobs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchhub_sim.errors import UsageError
from benchhub_sim.params import whole
from benchhub_sim.spec.model import Duration

Seed = int | np.random.Generator | np.random.SeedSequence | None

_BLOCK = 1024


def check_seed(seed: Seed) -> None:
    """Refuse a seed argument :func:`seed_sequence` cannot take (draws nothing from a Generator).

    Raises
    ------
    UsageError
        Not a whole number >= 0, a numpy Generator, a SeedSequence or None.
    """
    if seed is None or isinstance(seed, np.random.SeedSequence | np.random.Generator):
        return
    if whole("", seed, minimum=0) is not None:
        raise UsageError(
            "seed: expected a whole number >= 0, a numpy Generator or None, "
            f"found {type(seed).__name__} {seed!r:.40}"
        )


def seed_sequence(seed: Seed) -> np.random.SeedSequence:
    """Normalise a seed argument to a SeedSequence (an int, a Generator, a SeedSequence or None)."""
    check_seed(seed)
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    if seed is None:
        return np.random.SeedSequence()
    return np.random.SeedSequence(int(seed))  # type: ignore[arg-type]


def make_rng(seed: Seed, *key: int) -> np.random.Generator:
    """A Generator for the stream ``key`` under ``seed`` (independent streams per key)."""
    root = seed_sequence(seed)
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key + key))
    )


def draw(duration: Duration, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws of ``duration`` at once (vectorised :meth:`Duration.sample`)."""
    p = duration.param
    d = duration.dist
    if d == "constant":
        return np.full(n, p("value"))
    if d == "exponential":
        return rng.exponential(p("mean"), n)
    if d == "lognormal":
        return rng.lognormal(p("mu"), p("sigma"), n)
    if d == "normal":
        return np.maximum(rng.normal(p("mean"), p("std"), n), 0.0)
    if d == "uniform":
        return rng.uniform(p("low"), p("high"), n)
    raise ValueError(f"unknown distribution {d!r}")


class Stream:
    """An endless stream of draws of one distribution, generated in blocks."""

    __slots__ = ("_rng", "_dist", "_block", "_i")

    def __init__(self, dist: Duration | None, rng: np.random.Generator) -> None:
        self._rng = rng
        self._dist = dist  # None: uniform(0, 1), for failure draws
        self._block: list[float] = []
        self._i = 0

    def next(self) -> float:
        if self._i >= len(self._block):
            block = (
                self._rng.random(_BLOCK)
                if self._dist is None
                else draw(self._dist, self._rng, _BLOCK)
            )
            self._block = block.tolist()
            self._i = 0
        v = self._block[self._i]
        self._i += 1
        return v


class SpecStreams:
    """The duration and failure streams of one spec, one per random position."""

    __slots__ = ("streams",)

    def __init__(self, seed: Seed, spec_key: int, dists: Sequence[Duration | None]) -> None:
        self.streams = [Stream(d, make_rng(seed, spec_key, i)) for i, d in enumerate(dists)]

    def take(self) -> list[float]:
        """The next job's draws, one per position."""
        return [s.next() for s in self.streams]
