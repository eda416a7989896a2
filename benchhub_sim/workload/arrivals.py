"""Arrival processes: streams of job requests over specs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from benchhub_sim.errors import WorkloadError
from benchhub_sim.rng import Seed, make_rng
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.workload.base import JobRequest

_BLOCK = 4096


def poisson_arrivals(
    specs: JobSpec | Sequence[JobSpec],
    *,
    rate: float,
    count: int,
    seed: Seed = 0,
    start: float = 0.0,
    mix: str = "cycle",
    weights: Sequence[float] | None = None,
) -> Iterator[JobRequest]:
    """``count`` jobs arriving as a Poisson process of ``rate`` jobs per second.

    Generated lazily (a million requests never sit in memory at once). With several
    specs, ``mix="cycle"`` takes them in turn and ``mix="random"`` draws each job's spec
    (by ``weights``, default equal).

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec
    >>> reqs = list(poisson_arrivals(JobSpec("j"), rate=2.0, count=3, seed=1))
    >>> [r.spec.name for r in reqs], all(a.submit < b.submit for a, b in zip(reqs, reqs[1:]))
    (['j', 'j', 'j'], True)
    """
    specs = [specs] if isinstance(specs, JobSpec) else list(specs)
    problems = []
    if not specs:
        problems.append("poisson_arrivals: no spec given")
    if not rate > 0:
        problems.append(f"poisson_arrivals: rate must be > 0, got {rate}")
    if count < 0:
        problems.append(f"poisson_arrivals: count must be >= 0, got {count}")
    if mix not in ("cycle", "random"):
        problems.append(f"poisson_arrivals: mix must be 'cycle' or 'random', got {mix!r}")
    if weights is not None and len(weights) != len(specs):
        problems.append(f"poisson_arrivals: {len(weights)} weights for {len(specs)} specs")
    if problems:
        raise WorkloadError(problems)
    return _poisson(specs, rate, count, seed, start, mix, weights)


def _poisson(
    specs: list[JobSpec],
    rate: float,
    count: int,
    seed: Seed,
    start: float,
    mix: str,
    weights: Sequence[float] | None,
) -> Iterator[JobRequest]:
    import numpy as np

    rng = make_rng(seed, 1)  # stream 1: arrivals (durations use their own streams)
    p = None if weights is None else np.asarray(weights, float) / float(np.sum(weights))
    t = start
    n = 0
    while n < count:
        k = min(_BLOCK, count - n)
        gaps = rng.exponential(1.0 / rate, k).tolist()
        picks = rng.choice(len(specs), size=k, p=p).tolist() if mix == "random" else None
        for i in range(k):
            t += gaps[i]
            spec = specs[picks[i]] if picks is not None else specs[(n + i) % len(specs)]
            yield JobRequest(spec, t)
        n += k


def fixed_arrivals(
    specs: JobSpec | Sequence[JobSpec], *, every: float = 0.0, count: int = 1, start: float = 0.0
) -> list[JobRequest]:
    """``count`` jobs, one every ``every`` seconds from ``start``, cycling over ``specs``."""
    specs = [specs] if isinstance(specs, JobSpec) else list(specs)
    return [JobRequest(specs[i % len(specs)], start + i * every) for i in range(count)]


def parse_arrivals(
    text: str | None, specs: Sequence[JobSpec], *, count: int, seed: Seed = 0
) -> Iterable[JobRequest]:
    """Requests from a command-line arrival process: ``poisson:RATE``, ``fixed:EVERY`` or None (all at 0).

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec
    >>> [r.submit for r in parse_arrivals("fixed:2.5", [JobSpec("a")], count=3)]
    [0.0, 2.5, 5.0]
    """
    if text is None:
        return fixed_arrivals(specs, count=count)
    kind, _, value = text.partition(":")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if kind not in ("poisson", "fixed") or not number >= 0:
        raise WorkloadError(
            [f"--arrivals {text!r}: expected poisson:RATE or fixed:EVERY with a number >= 0"]
        )
    if kind == "poisson":
        return poisson_arrivals(specs, rate=number, count=count, seed=seed)
    return fixed_arrivals(specs, every=number, count=count)
