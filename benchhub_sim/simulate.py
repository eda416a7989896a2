"""``simulate``: run a workload on a cluster in virtual time and return the run."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchhub_sim.cluster import Cluster
from benchhub_sim.engine.engine import Engine, fewer_collections, iter_sorted
from benchhub_sim.errors import StalledRunWarning, stalled_message
from benchhub_sim.rng import Seed
from benchhub_sim.sched.policies import Policy
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.workload.base import JobRequest

WorkloadLike = Iterable[JobRequest] | JobSpec | Sequence[JobSpec] | str | os.PathLike[str]


def as_cluster(cluster: Cluster | int | str | os.PathLike[str]) -> Cluster:
    """A Cluster, ``n`` nodes of role ``any``, or a cluster file."""
    if isinstance(cluster, Cluster):
        return cluster
    if isinstance(cluster, int):
        return Cluster.uniform(cluster)
    from benchhub_sim.cluster import load_cluster

    return load_cluster(cluster)


def as_workload(workload: WorkloadLike) -> Iterable[JobRequest]:
    """Job requests from requests, specs (all submitted at t=0), or a jobs file / spec file."""
    if isinstance(workload, JobSpec):
        return [JobRequest(workload, 0.0)]
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

        return [JobRequest(load_spec(path), 0.0)]
    if (
        isinstance(workload, list | tuple)
        and workload
        and all(isinstance(s, JobSpec) for s in workload)
    ):
        return [JobRequest(s, 0.0) for s in workload]
    return iter_sorted(workload)  # type: ignore[arg-type]


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
    progress: Any = None,
    inputs: dict[str, Any] | None = None,
    overwrite: bool = False,
    one_step: bool = True,
    batch: bool = True,
) -> Any:
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
        Check every transition against the store's state machine (slower, safer).
    overwrite : bool
        Replace a run already saved in ``out``.
    one_step : bool
        Start and end simple jobs in one step each (see :class:`~benchhub_sim.engine.engine.Engine`);
        ``False`` gives the same tables, slower.
    batch : bool
        Run uniform simple workloads in batch mode while they allow it (see
        :mod:`~benchhub_sim.engine.batch`); ``False`` gives the same tables, slower.
    progress : callable, optional
        Called as ``progress(jobs_ended, now)`` once per ended job.

    Returns
    -------
    Run

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec, NodeAssignment, Stage, Selector, Task, ShellPayload, Duration
    >>> spec = JobSpec("one", node_assignments=(NodeAssignment("w"),), stages=(Stage("s", selectors=(Selector(all=True),),
    ...     tasks=(Task("t", shell=ShellPayload("true"), duration=Duration.constant(3.0)),)),))
    >>> run = simulate(2, [spec, spec, spec])
    >>> run.jobs[["job_id", "start_time", "stop_time"]].values.tolist()
    [[0.0, 0.0, 3.0], [1.0, 0.0, 3.0], [2.0, 3.0, 6.0]]
    """
    from benchhub_sim import __version__
    from benchhub_sim.store.history import History
    from benchhub_sim.store.run import Run, RunWriter, load_run
    from benchhub_sim.store.schema import SCHEMA_VERSION
    from benchhub_sim.store.store import Store

    cluster = as_cluster(cluster)
    requests = as_workload(workload)
    meta = {
        "clock": "virtual",
        "epoch": 0.0,
        "policy": policy if isinstance(policy, str) else getattr(policy, "__name__", repr(policy)),
        "seed": seed if isinstance(seed, int) else None,
        "cluster": cluster.name or cluster.source or f"{len(cluster)} nodes",
        "n_nodes": len(cluster),
        "inputs": inputs or {},
        "default_duration": default_duration,
        "max_loader_pack": max_loader_pack,
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
    }
    writer = RunWriter(out, meta, overwrite=overwrite) if out is not None else None
    store = Store(History(sink=writer.sink if writer else None), check=check)
    engine = Engine(
        cluster,
        store,
        policy=policy,
        seed=seed,
        default_duration=default_duration,
        max_loader_pack=max_loader_pack,
        faults=faults,
        one_step=one_step,
        batch=batch,
    )
    if progress is not None:
        engine.central.on_job_end = progress
    engine.run(requests)
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
        from benchhub_sim.store.rows import SORT_KEYS

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
        return Run.of_store(store.tables(), meta)
