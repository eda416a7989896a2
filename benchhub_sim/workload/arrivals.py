"""Arrival processes: workloads of job requests over specs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import accumulate, cycle
from typing import TYPE_CHECKING, Any

import numpy as np

from benchhub_sim.errors import WorkloadError
from benchhub_sim.params import number, require, whole
from benchhub_sim.rng import Seed, make_rng, seed_sequence
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.workload.base import JobRequest, RequestList, Workload, requests_frame

if TYPE_CHECKING:
    import pandas as pd

_BLOCK = 4096


class PoissonArrivals(Workload):
    """``count`` jobs arriving as a Poisson process (see :func:`poisson_arrivals`).

    Made lazily, a block of draws at a time, on every iteration from the same seed: a
    million requests never sit in memory at once, and every iteration gives the same
    jobs.
    """

    def __init__(
        self,
        specs: Sequence[JobSpec],
        rate: float,
        count: int,
        seed: np.random.SeedSequence,
        start: float,
        mix: str,
        weights: Sequence[float] | None,
    ) -> None:
        self.specs = tuple(specs)
        self.rate, self.count, self.seed, self.start, self.mix = rate, count, seed, start, mix
        self.weights = None if weights is None else tuple(float(w) for w in weights)

    def __len__(self) -> int:
        return self.count

    def _blocks(self) -> Iterator[tuple[list[float], list[int] | None]]:
        """Submit times and spec picks (None: cycle over the specs), a block at a time."""
        rng = make_rng(self.seed, 1)  # stream 1: arrivals (durations use their own streams)
        weights = self.weights
        p = None if weights is None else np.asarray(weights, float) / float(np.sum(weights))
        t = self.start
        n = 0
        while n < self.count:
            k = min(_BLOCK, self.count - n)
            gaps = rng.exponential(1.0 / self.rate, k).tolist()
            picks = (
                rng.choice(len(self.specs), size=k, p=p).tolist() if self.mix == "random" else None
            )
            times = list(accumulate(gaps, initial=t))  # t += gap, one by one (as always)
            del times[0]
            t = times[-1]
            yield times, picks
            n += k

    def __iter__(self) -> Iterator[JobRequest]:
        specs = self.specs
        turns = cycle(specs)  # mix="cycle": zip stops at the end of ``times`` first
        for times, picks in self._blocks():
            chosen = turns if picks is None else [specs[p] for p in picks]
            for t, spec in zip(times, chosen):  # noqa: B905
                yield JobRequest(spec, t)

    def to_pandas(self) -> pd.DataFrame:
        times: list[float] = []
        index: list[int] = []
        for block, picks in self._blocks():
            index.extend(picks if picks is not None else range(len(times), len(times) + len(block)))
            times.extend(block)
        pick = np.asarray(index, dtype=np.int64)
        if self.mix != "random":
            pick %= len(self.specs)
        names = np.array([s.name for s in self.specs], dtype=object)[pick]
        sizes = np.array([sum(a.count for a in s.node_assignments) for s in self.specs])[pick]
        none = [None] * len(times)
        return requests_frame(none, times, names, sizes, none, none)

    def __repr__(self) -> str:
        names = ", ".join(dict.fromkeys(s.name for s in self.specs))
        return (
            f"<PoissonArrivals: {self.count} jobs of {names} at {self.rate:g} jobs/s "
            f"({self.mix}), from t={self.start:g}>"
        )


def poisson_arrivals(
    specs: JobSpec | Sequence[JobSpec],
    *,
    rate: float,
    count: int,
    seed: Seed = 0,
    start: float = 0.0,
    mix: str = "cycle",
    weights: Sequence[float] | None = None,
) -> PoissonArrivals:
    """``count`` jobs arriving as a Poisson process of ``rate`` jobs per second.

    With several specs, ``mix="cycle"`` takes them in turn and ``mix="random"`` draws
    each job's spec (by ``weights``, default equal). The result can be read any number
    of times (it gives the same jobs each time: ``seed`` is fixed when it is made, a
    ``None`` seed too), and has ``len()`` and ``to_pandas()``.

    Raises
    ------
    WorkloadError
        Every bad argument: no spec, ``rate`` not > 0, ``count`` not a whole number
        >= 1, ``start`` not >= 0, an unknown ``mix``, bad ``weights``.

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec
    >>> jobs = poisson_arrivals(JobSpec("j"), rate=2.0, count=3, seed=1)
    >>> reqs = list(jobs)
    >>> len(jobs), [r.spec.name for r in reqs], all(a.submit < b.submit for a, b in zip(reqs, reqs[1:]))
    (3, ['j', 'j', 'j'], True)
    >>> [r.submit for r in jobs] == [r.submit for r in reqs]  # read again: the same jobs
    True
    """
    specs = _specs(specs)
    where = "poisson_arrivals"
    problems = [
        None if specs else f"{where}: no spec given",
        *_spec_types(where, specs),
        number(f"{where}: rate", rate, above=0),
        whole(f"{where}: count", count),
        number(f"{where}: start", start, at_least=0),
        None
        if mix in ("cycle", "random")
        else f"{where}: mix: expected 'cycle' or 'random', found {mix!r}",
    ]
    if weights is not None:
        w = list(weights)
        if len(w) != len(specs):
            problems.append(f"{where}: weights: {len(w)} weights for {len(specs)} specs")
        elif any(number("", x, at_least=0) for x in w) or not sum(w) > 0:
            problems.append(
                f"{where}: weights: expected finite numbers >= 0 with a sum > 0, found {w!r}"
            )
    require(WorkloadError, problems)
    return PoissonArrivals(specs, rate, count, seed_sequence(seed), start, mix, weights)


def fixed_arrivals(
    specs: JobSpec | Sequence[JobSpec], *, every: float = 0.0, count: int = 1, start: float = 0.0
) -> RequestList:
    """``count`` jobs, one every ``every`` seconds from ``start``, cycling over ``specs``.

    Raises
    ------
    WorkloadError
        No spec, ``count`` not a whole number >= 1, ``every`` or ``start`` not >= 0.
    """
    specs = _specs(specs)
    where = "fixed_arrivals"
    require(
        WorkloadError,
        [
            None if specs else f"{where}: no spec given",
            *_spec_types(where, specs),
            whole(f"{where}: count", count),
            number(f"{where}: every", every, at_least=0),
            number(f"{where}: start", start, at_least=0),
        ],
    )
    return RequestList(JobRequest(specs[i % len(specs)], start + i * every) for i in range(count))


def _specs(specs: Any) -> list[Any]:
    if isinstance(specs, JobSpec):
        return [specs]
    if isinstance(specs, str | bytes) or not isinstance(specs, Sequence):
        return [specs]  # reported by _spec_types
    return list(specs)


def _spec_types(where: str, specs: Sequence[Any]) -> list[str]:
    return [
        f"{where}: specs[{i}]: expected a JobSpec (from load_spec), found {type(s).__name__}"
        for i, s in enumerate(specs)
        if not isinstance(s, JobSpec)
    ]


def parse_arrivals(
    text: str | None, specs: Sequence[JobSpec], *, count: int | None, seed: Seed = 0
) -> Workload:
    """Requests from a command-line arrival process: ``poisson:RATE``, ``fixed:EVERY`` or None (all at 0).

    ``count`` jobs, cycling over ``specs``; None means one job per spec, except for
    ``poisson:RATE``, which needs a count.

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec
    >>> [r.submit for r in parse_arrivals("fixed:2.5", [JobSpec("a")], count=3)]
    [0.0, 2.5, 5.0]
    """
    if text is None:
        return fixed_arrivals(specs, count=len(specs) if count is None else count)
    kind, _, value = text.partition(":")
    try:
        x = float(value)
    except ValueError:
        x = float("nan")
    if kind not in ("poisson", "fixed"):
        raise WorkloadError([f"--arrivals {text!r}: expected poisson:RATE or fixed:EVERY"])
    if kind == "poisson":
        require(
            WorkloadError,
            [
                number(f"--arrivals {text!r}: RATE", x, above=0),
                None
                if count is not None
                else f"--arrivals {text!r}: needs --count N (how many jobs arrive)",
            ],
        )
        return poisson_arrivals(specs, rate=x, count=count, seed=seed)  # type: ignore[arg-type]
    require(WorkloadError, [number(f"--arrivals {text!r}: EVERY", x, at_least=0)])
    return fixed_arrivals(specs, every=x, count=len(specs) if count is None else count)
