"""What the engine consumes: a stream of job requests, in submit order (a :class:`Workload`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, overload

from benchhub_sim.spec.model import JobSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: node name in ``JobRequest.durations`` keys that stands for every node of a stage
ALL_NODES = "*"


@dataclass(frozen=True, init=False)
class JobRequest:
    """One job submitted to the central.

    Parameters
    ----------
    spec : JobSpec
        What to run. Many requests may share one spec object (the engine compiles each
        distinct spec once).
    submit : float
        Submit time in seconds on the run's clock.
    job_id : int, optional
        Keep an id from a trace or a recorded run; by default jobs are numbered 0, 1, ...
        in submit order.
    priority, walltime : float, optional
        Override the spec's values (a trace's requested time, a replay's recorded estimate).
    durations : mapping, optional
        Observed task durations keyed ``(stage_name, node_name, task_name)``, where the
        node name :data:`ALL_NODES` (``"*"``) stands for every node of the stage, or
        ``(stage_name, node_name, task_name, attempt)`` for one attempt; a replay
        uses them instead of the spec's distributions.
    ready_delays : mapping, optional
        Observed readiness delays of background tasks, same keys.
    bind_to : tuple of str, optional
        Node ids, one per slot of the spec (in slot order): the job starts on these
        nodes the moment it is submitted, before any policy pass (a warm-started replay
        keeps the jobs that were running on their nodes).
    """

    spec: JobSpec
    submit: float = 0.0
    job_id: int | None = None
    priority: float | None = None
    walltime: float | None = None
    durations: Mapping[tuple[Any, ...], float] | None = None
    ready_delays: Mapping[tuple[Any, ...], float] | None = None
    bind_to: tuple[str, ...] | None = None

    def __init__(
        self,
        spec: JobSpec,
        submit: float = 0.0,
        job_id: int | None = None,
        priority: float | None = None,
        walltime: float | None = None,
        durations: Mapping[tuple[Any, ...], float] | None = None,
        ready_delays: Mapping[tuple[Any, ...], float] | None = None,
        bind_to: tuple[str, ...] | None = None,
    ) -> None:
        # what the generated __init__ of a frozen dataclass does, without its eight
        # object.__setattr__ calls: workloads make millions of requests (2x faster)
        self.__dict__.update(
            spec=spec, submit=submit, job_id=job_id, priority=priority, walltime=walltime,
            durations=durations, ready_delays=ready_delays, bind_to=bind_to,
        )  # fmt: skip


class Workload(ABC):
    """A stream of job requests in submit order that can be read any number of times.

    Every iteration gives the same requests (equal submit times, specs and ids), so one
    workload can be simulated under several policies and the runs compared job for
    job. ``len()`` is the number of jobs; :meth:`to_pandas` shows them as a table.

    The arrival processes (:func:`~benchhub_sim.workload.arrivals.poisson_arrivals`,
    :func:`~benchhub_sim.workload.arrivals.fixed_arrivals`), jobs files
    (:func:`~benchhub_sim.workload.jobsfile.load_jobs`), SWF traces
    (:func:`~benchhub_sim.workload.swf.swf_jobs`) and recorded runs
    (:func:`~benchhub_sim.workload.replay.replay_workload`) all return one.

    Attributes
    ----------
    skipped : mapping of str to int
        Jobs of the input left out, by reason (e.g. an SWF trace's ``no_run_time``,
        ``no_size``, ``too_large``); empty when none. A run of this workload records it
        in ``run.json`` as ``skipped``.
    """

    skipped: Mapping[str, int] = MappingProxyType({})

    @abstractmethod
    def __iter__(self) -> Iterator[JobRequest]: ...

    @abstractmethod
    def __len__(self) -> int: ...

    def to_pandas(self) -> pd.DataFrame:
        """The jobs as a table, one row per request in submit order.

        Returns
        -------
        pandas.DataFrame
            ``job_id`` (``<NA>`` where the engine numbers the job: 0, 1, ... in submit
            order), ``submit`` (s), ``spec`` (the spec's name), ``n_nodes`` (nodes the job
            asks for), ``walltime`` and ``priority`` (NaN where the spec's own apply).
        """
        rows = [
            (r.job_id, r.submit, r.spec.name, _n_nodes(r.spec), r.walltime, r.priority)
            for r in self
        ]
        return requests_frame(*zip(*rows, strict=True)) if rows else requests_frame()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self)} jobs>"


def requests_frame(
    job_id: Iterable[Any] = (),
    submit: Iterable[float] = (),
    spec: Iterable[str] = (),
    n_nodes: Iterable[int] = (),
    walltime: Iterable[Any] = (),
    priority: Iterable[Any] = (),
) -> pd.DataFrame:
    """The table of :meth:`Workload.to_pandas` from its columns (None: missing)."""
    import numpy as np
    import pandas as pd

    def floats(values: Iterable[Any]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    return pd.DataFrame(
        {
            "job_id": pd.array(list(job_id), dtype="Int64"),
            "submit": np.asarray(list(submit), dtype=np.float64),
            "spec": pd.Series(list(spec), dtype=object),
            "n_nodes": np.asarray(list(n_nodes), dtype=np.int64),
            "walltime": floats(walltime),
            "priority": floats(priority),
        }
    )


def _n_nodes(spec: JobSpec) -> int:
    return sum(a.count for a in spec.node_assignments)


class RequestList(Workload, Sequence[JobRequest]):
    """A workload held as a list of requests, sorted by submit time (stable).

    Parameters
    ----------
    requests : iterable of JobRequest
    skipped : mapping of str to int, optional
        Input jobs left out, by reason.

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec
    >>> jobs = RequestList([JobRequest(JobSpec("b"), 5.0), JobRequest(JobSpec("a"), 1.0)])
    >>> len(jobs), [r.spec.name for r in jobs], jobs.to_pandas()["submit"].tolist()
    (2, ['a', 'b'], [1.0, 5.0])
    """

    def __init__(
        self, requests: Iterable[JobRequest], *, skipped: Mapping[str, int] | None = None
    ) -> None:
        items = list(requests)
        bad = [i for i, r in enumerate(items) if not isinstance(r, JobRequest)]
        if bad:
            from benchhub_sim.errors import WorkloadError

            raise WorkloadError([not_a_request(i, items[i]) for i in bad[:5]])
        self._requests = sorted(items, key=_submit)
        self.skipped = MappingProxyType(dict(skipped or {}))

    def __len__(self) -> int:
        return len(self._requests)

    def __iter__(self) -> Iterator[JobRequest]:
        return iter(self._requests)

    @overload
    def __getitem__(self, i: int) -> JobRequest: ...

    @overload
    def __getitem__(self, i: slice) -> list[JobRequest]: ...

    def __getitem__(self, i: int | slice) -> JobRequest | list[JobRequest]:
        return self._requests[i]


def _submit(r: JobRequest) -> float:
    return r.submit


def not_a_request(i: int, item: object) -> str:
    """The problem of item ``i`` of a workload that is not a :class:`JobRequest`."""
    return (
        f"workload[{i}]: expected a JobRequest (or a list of JobSpecs, submitted at t=0), "
        f"found {type(item).__name__} {item!r:.60}"
    )
