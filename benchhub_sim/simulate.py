"""``simulate``: run a workload on a cluster in virtual time and return the run."""

from __future__ import annotations

import contextlib
import gc
import itertools
import numbers
import os
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchhub_sim._version import __version__
from benchhub_sim.cluster import Cluster
from benchhub_sim.engine.engine import Engine, fewer_collections
from benchhub_sim.errors import (
    ClusterError,
    StalledRunWarning,
    UsageError,
    WorkloadError,
    stalled_message,
)
from benchhub_sim.params import number, require, whole
from benchhub_sim.rng import Seed, check_seed
from benchhub_sim.sched.policies import Policy, get_policy
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.workload.base import JobRequest, RequestList, Workload, not_a_request

if TYPE_CHECKING:
    from benchhub_sim.store.run import Run

WorkloadLike = Iterable[JobRequest] | JobSpec | Sequence[JobSpec] | str | os.PathLike[str]

#: one-shot iterators a run has read (weakly: they are not kept alive), so that giving
#: one to a second run is an error, not an empty run
_READ: weakref.WeakSet[Any] = weakref.WeakSet()


def as_cluster(cluster: Cluster | int | str | os.PathLike[str]) -> Cluster:
    """A Cluster, ``n`` nodes of role ``any``, or a cluster file.

    Raises
    ------
    ClusterError
        A number of nodes that is not a whole number >= 1, a cluster with no nodes, or a
        cluster file with problems.
    UsageError
        Anything else.
    """
    if isinstance(cluster, numbers.Number) and not isinstance(cluster, bool):
        cluster = Cluster.uniform(cluster)  # type: ignore[arg-type]  # refuses 0, -4, 2.5
    elif isinstance(cluster, str | os.PathLike):
        from benchhub_sim.cluster import load_cluster

        cluster = load_cluster(cluster)
    elif not isinstance(cluster, Cluster):
        raise UsageError(
            "cluster: expected a Cluster, a number of nodes or a cluster file, "
            f"found {type(cluster).__name__} {cluster!r:.60}"
        )
    if not len(cluster):
        raise ClusterError([f"{cluster.source or cluster.name or 'cluster'}: has no nodes"])
    return cluster


def as_workload(workload: WorkloadLike) -> Workload | Iterator[JobRequest]:
    """A workload from requests, specs (all submitted at t=0), a jobs file or a spec file.

    A :class:`~benchhub_sim.workload.base.Workload` passes through; a list or tuple of
    requests (or of specs) becomes one, sorted by submit time. A one-shot iterator (a
    generator) is read as it goes and must already be in submit order; it can be given
    to one run only.

    Raises
    ------
    WorkloadError
        No jobs (e.g. an iterator a run has already read), an item that is not a job
        request, or an iterator given a second time.
    UsageError
        Anything that is not a workload.
    """
    if isinstance(workload, Workload):
        if not len(workload):
            raise WorkloadError([_no_jobs(workload)])
        return workload
    if isinstance(workload, JobSpec):
        return RequestList([JobRequest(workload, 0.0)])
    if isinstance(workload, str | os.PathLike):
        from benchhub_sim.spec.load import parse_yaml
        from benchhub_sim.spec.validate import Locator

        path = Path(workload)
        head = (
            parse_yaml(path.read_text(encoding="utf-8"), Locator(where=str(path)))
            if path.is_file()
            else None
        )
        if isinstance(head, dict) and "jobs" in head:
            from benchhub_sim.workload.jobsfile import load_jobs

            return load_jobs(path)
        from benchhub_sim.spec.load import load_spec

        return RequestList([JobRequest(load_spec(path), 0.0)])
    if isinstance(workload, list | tuple):
        if workload and all(isinstance(s, JobSpec) for s in workload):
            return RequestList(JobRequest(s, 0.0) for s in workload)
        return as_workload(RequestList(workload))  # checks the items
    if isinstance(workload, Iterator):
        return _read_once(workload)
    if isinstance(workload, Iterable):
        return as_workload(RequestList(workload))  # type: ignore[arg-type]
    raise UsageError(
        "workload: expected job requests (e.g. poisson_arrivals(...)), specs, or a jobs or "
        f"spec file, found {type(workload).__name__} {workload!r:.60}"
    )


def _no_jobs(workload: Workload) -> str:
    skipped = ", ".join(f"{n} {reason}" for reason, n in workload.skipped.items())
    return "the workload has no jobs" + (f" (every job was skipped: {skipped})" if skipped else "")


def _read_once(iterator: Iterator[Any]) -> Iterator[JobRequest]:
    """The requests of a one-shot iterator, checked as they are read; refused if a run
    read it before or it yields nothing."""
    again = (
        "pass a list, or a workload that can be read again (poisson_arrivals, "
        "fixed_arrivals, load_jobs, swf_jobs and replay_workload return one)"
    )
    if iterator in _READ:
        raise WorkloadError([f"workload: this iterator was read by an earlier run: {again}"])
    with contextlib.suppress(TypeError):  # no weak references to built-in iterators:
        _READ.add(iterator)  # the check for no jobs below catches those
    first = next(iterator, None)
    if first is None:
        raise WorkloadError([f"workload: the iterator yields no jobs (read before?): {again}"])
    return _checked(itertools.chain([first], iterator))


def _checked(requests: Iterator[Any]) -> Iterator[JobRequest]:
    for i, req in enumerate(requests):
        if not isinstance(req, JobRequest):
            raise WorkloadError([not_a_request(i, req)])
        yield req


def simulate(
    cluster: Cluster | int | str | os.PathLike[str],
    workload: WorkloadLike,
    *,
    policy: str | Policy = "fcfs",
    seed: Seed = 0,
    out: str | os.PathLike[str] | None = None,
    default_duration: float = 1.0,
    max_loader_pack: int = 1,
    faults: Sequence[tuple[float, str, float]] = (),
    check: bool = True,
    progress: Callable[[int, float], None] | None = None,
    inputs: dict[str, Any] | None = None,
    overwrite: bool = False,
    one_step: bool | None = None,
    batch: bool | None = None,
) -> Run:
    """Run ``workload`` on ``cluster`` in virtual time.

    Parameters
    ----------
    cluster : Cluster, int or path
        The nodes; an int means that many nodes of role ``any``.
    workload : requests, spec(s) or path
        Job requests in submit order (e.g. :func:`~benchhub_sim.workload.arrivals.poisson_arrivals`),
        specs submitted at t=0, a jobs file or a spec file.
    policy : str or callable
        ``fcfs``, ``easy``, ``conservative``, ``sjf``, ``priority``, or a policy callable.
    seed : int, numpy Generator or None
        The same inputs and seed give identical tables.
    out : path, optional
        Stream the history to this run directory while running and save the run there.
    default_duration : float
        Seconds a task takes when its spec gives no ``duration``.
    max_loader_pack : int
        Loader slots of one job allowed on one node.
    faults : sequence of (time, node_id, down_seconds)
        Injected node failures (nodes' ``mtbf``/``mttr`` also apply).
    check : bool
        Check every transition against the store's state machine (slower, safer): a
        debugging switch, on by default. The tables are the same either way.
    overwrite : bool
        Replace a run already saved in ``out``.
    progress : callable, optional
        Called as ``progress(jobs_ended, now)`` once per ended job.
    one_step, batch : bool, optional
        Deprecated: switches of the engine's fast paths, for tests and benchmarks
        (``Engine(..., one_step=False, batch=False)``, see
        :class:`~benchhub_sim.engine.engine.Engine`). Given here, they still apply and
        warn (:class:`DeprecationWarning`).

    Returns
    -------
    Run
        Its ``meta["skipped"]`` counts the jobs of the input the workload left out, by
        reason (see :class:`~benchhub_sim.workload.base.Workload`).

    Raises
    ------
    ClusterError, WorkloadError, ScheduleError, UsageError
        Bad arguments, before anything is written: a number of nodes that is not a
        whole number >= 1, a workload with no jobs or with an item that is not a job
        request, a one-shot iterator a run has read before, an unknown policy or one
        that cannot be called as ``policy(view)``, a negative ``default_duration`` ...
    RunFormatError
        ``out`` is a file, a directory holding other files, or a run (without
        ``overwrite``).
    ScheduleError
        The policy raised: the message names the policy, the time and the job at the
        head of the queue. With ``out``, the run directory's ``run.json`` records the
        ``error`` of a run that raised (and stays ``complete: false``).

    Notes
    -----
    While it runs, the cyclic garbage collector runs less often (first threshold 50,000)
    and the objects that existed before the call are frozen (:func:`gc.freeze`), which
    saves about a quarter of a simulation's time. Whatever happens, also when the run
    raises, the collector's thresholds, whether it is enabled, and the freeze count are
    restored before this function returns; the objects unfrozen then are in the oldest
    generation (:func:`gc.unfreeze`).

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec, NodeAssignment, Stage, Selector, Task, ShellPayload, Duration
    >>> spec = JobSpec("one", node_assignments=(NodeAssignment("w"),), stages=(Stage("s", selectors=(Selector(all=True),),
    ...     tasks=(Task("t", shell=ShellPayload("true"), duration=Duration.constant(3.0)),)),))
    >>> run = simulate(2, [spec, spec, spec])
    >>> run.jobs[["job_id", "start_time", "stop_time"]].values.tolist()
    [[0.0, 0.0, 3.0], [1.0, 0.0, 3.0], [2.0, 3.0, 6.0]]
    """
    from benchhub_sim.store.history import History
    from benchhub_sim.store.rows import SORT_KEYS
    from benchhub_sim.store.run import PACKED_SNAPSHOTS, Run, RunWriter, load_run
    from benchhub_sim.store.schema import SCHEMA_VERSION
    from benchhub_sim.store.store import Store

    _warn_engine_switches(one_step=one_step, batch=batch)
    check_engine_args(default_duration=default_duration, max_loader_pack=max_loader_pack)
    check_seed(seed)
    get_policy(policy)
    cluster = as_cluster(cluster)
    requests = as_workload(workload)
    meta = {
        "clock": "virtual",
        "epoch": 0.0,
        "policy": policy_name(policy),
        "seed": seed if isinstance(seed, int) else None,
        "cluster": cluster.name or cluster.source or f"{len(cluster)} nodes",
        "n_nodes": len(cluster),
        "inputs": inputs or {},
        "default_duration": default_duration,
        "max_loader_pack": max_loader_pack,
        "skipped": dict(getattr(requests, "skipped", {})),
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
    }
    writer = RunWriter(out, meta, overwrite=overwrite) if out is not None else None
    store = Store(
        History(sink=writer.sink if writer else None),
        check=check,
        spill=writer.spill if writer else None,
    )
    engine = Engine(
        cluster,
        store,
        policy=policy,
        seed=seed,
        default_duration=default_duration,
        max_loader_pack=max_loader_pack,
        faults=faults,
        one_step=one_step is not False,
        batch=batch is not False,
    )
    if progress is not None:
        engine.central.on_job_end = progress
    try:
        engine.run(requests)
    except BaseException as exc:
        if writer is not None:
            mark_failed(writer, store, exc)
        raise
    ended = {
        "end_time": engine.loop.now,
        "events": engine.loop.events_run,
        "paths": engine.paths,
        "stalled": engine.stalled,
    }
    meta.update(ended)
    if engine.stalled is not None:
        warnings.warn(StalledRunWarning(stalled_message(engine.stalled)), stacklevel=2)
    if writer is not None:
        writer.meta.update(ended)
        # one table at a time, each sorted as it is written and dropped after
        with fewer_collections():
            writer.finish(store.final_tables(), sort=SORT_KEYS)
        # let the snapshot go before the run is read back (the engine's parts refer to
        # each other, so the collector frees them)
        del store, engine
        gc.collect()
        return load_run(writer.path)
    with fewer_collections():
        # the history, and the tables but nodes and jobs, stay compressed until used
        history = {name: store.history.packed(name) for name in ("node_events", "job_events")}
        return Run.of_store(
            store.final_tables(), meta, packed=history, pack=PACKED_SNAPSHOTS, sort=SORT_KEYS
        )


def _warn_engine_switches(**given: bool | None) -> None:
    """Warn about the engine switches given to :func:`simulate` (deprecated there)."""
    switches = {name: value for name, value in given.items() if value is not None}
    if switches:
        names = ", ".join(f"{name}={value}" for name, value in switches.items())
        warnings.warn(
            f"simulate({names}) is deprecated: the engine's fast paths are switched off "
            f"on the engine, Engine(cluster, store, {names}) (see benchhub_sim.engine.engine)",
            DeprecationWarning,
            stacklevel=3,
        )


def policy_name(policy: str | Policy) -> str:
    """How ``run.json`` names a policy: its name, or the callable's ``__name__``."""
    return policy if isinstance(policy, str) else getattr(policy, "__name__", repr(policy))


def check_engine_args(*, default_duration: float = 1.0, max_loader_pack: int = 1) -> None:
    """Refuse engine arguments out of range (every problem at once)."""
    require(
        WorkloadError,
        [
            number("default_duration", default_duration, at_least=0),
            whole("max_loader_pack", max_loader_pack),
        ],
    )


def mark_failed(writer: Any, store: Any, error: BaseException) -> None:
    """Keep what a run that raised logged, and say in ``run.json`` that it raised."""
    with contextlib.suppress(Exception):  # the run's own error is the one to report
        store.history.flush()
    writer.fail(error)
