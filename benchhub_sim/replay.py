"""``replay``: a recorded run or an SWF trace, run again under another policy or cluster.

What a replay keeps of its source and what it draws anew is described in
:mod:`benchhub_sim.workload.replay`, which turns the source into a workload; this module
checks the options, picks the cluster, the node failures and the seed, and simulates.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from benchhub_sim.cluster import Cluster
from benchhub_sim.errors import WorkloadError
from benchhub_sim.params import number, require, whole
from benchhub_sim.rng import Seed
from benchhub_sim.sched.policies import POLICIES, Policy, get_policy
from benchhub_sim.simulate import as_cluster, simulate
from benchhub_sim.workload.base import JobRequest, Workload
from benchhub_sim.workload.replay import (
    Fault,
    faults_since,
    open_source,
    recorded_faults,
    replay_cluster,
    replay_workload,
    swf_workload,
    warm_start_workload,
)
from benchhub_sim.workload.swf import SwfTrace, swf_cluster_size

if TYPE_CHECKING:
    from benchhub_sim.store.run import Run


def replay(
    source: Any,
    *,
    policy: str | Policy | None = None,
    cluster: Any = None,
    nodes: int | None = None,
    speedup: float = 1.0,
    warm_start: float | None = None,
    faults: str | Sequence[Fault] | None = "auto",
    seed: Seed = None,
    out: str | os.PathLike[str] | None = None,
    progress: Callable[[int, float], None] | None = None,
    overwrite: bool = False,
) -> Run:
    """Run a recorded run or an SWF trace again, in virtual time.

    Parameters
    ----------
    source : Run, SwfTrace or path
        A run directory (simulated or real) or a trace (``.swf``, ``.swf.gz``).
    policy : str or callable, optional
        The queue policy of the replay. Default: the recorded run's (when it is one of
        :data:`~benchhub_sim.sched.policies.POLICIES`), so that a replay changes only
        what it is asked to; ``fcfs`` for a trace or another recorded policy.
    cluster : Cluster, int or path, optional
        Another cluster. Default: the recorded run's nodes, or for a trace
        ``swf_cluster_size`` nodes of role ``any``.
    nodes : int, optional
        Instead of ``cluster``: this many nodes of role ``any`` (for a run, with the
        recorded nodes' median capacity, see :func:`replay_cluster`).
    speedup : float
        Divide durations (and walltimes) by it.
    warm_start : float, optional
        Start from the state of the recorded run at this time (see
        :func:`warm_start_workload`); needs a recorded run and a cluster holding its nodes.
    faults : "auto", "recorded", "none", None, or sequence of (time, node_id, down_seconds)
        Node failures of the replay. ``"recorded"``: the recording's (see
        :func:`recorded_faults`), on the nodes of the same id in the replay cluster;
        failures of other nodes are dropped and counted. ``None`` or ``"none"``: no node
        failures. A sequence: these faults (every node must be in the cluster).
        ``"auto"`` (default): ``"recorded"`` when a run is replayed on its own recorded
        cluster (no ``cluster``, no ``nodes``), so that such a replay reproduces the
        recording as closely as possible, and none otherwise: another cluster's nodes are
        other machines, whose ids only happen to match (``--nodes N`` names them
        ``node-0`` ... like a recording made on ``N`` uniform nodes). With a warm start at
        ``T``, only failures at or after ``T`` apply, and one still down at ``T`` is
        replayed from ``T`` for what was left of it (:func:`faults_since`).
    seed : int, numpy Generator or None
        Seeds what the replay draws (durations not observed, failures). None: the
        recorded run's seed (0 for a trace or a run without one).
    out : path, optional
        Save the replay as a run directory there.
    progress : callable, optional
        ``progress(jobs_ended, now)``, e.g. from :func:`benchhub_sim.progress.job_progress`.
    overwrite : bool
        Replace a run already saved in ``out``.

    Returns
    -------
    Run
        Its ``meta["inputs"]["replay"]`` records the source and the options; for node
        failures ``faults`` (``"recorded"``, ``"none"`` or ``"explicit"``),
        ``faults_applied`` (how many were handed to the engine), ``faults_dropped``
        (recorded failures of nodes not in the replay cluster) and, for a run replayed
        with ``"auto"`` or ``"recorded"``, ``faults_recorded`` (how many the recording
        holds).

    Raises
    ------
    WorkloadError
        Bad options (both ``cluster`` and ``nodes``, a warm start of a trace, a speedup
        <= 0, ``faults="recorded"`` for a trace, a malformed ``faults``), or a warm start
        whose running jobs' nodes are not in the cluster.
    ScheduleError
        An explicit fault names a node that is not in the cluster.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.swf"
    >>> _ = p.write_text("; MaxProcs: 2\\n"
    ...     "1 0 -1 10 2 -1 -1 2 10 -1 1 1 1 -1 1 1 -1 -1\\n"
    ...     "2 1 -1 5 1 -1 -1 1 5 -1 1 1 1 -1 1 1 -1 -1\\n")
    >>> run = replay(p)
    >>> run.jobs[["job_id", "start_time", "stop_time"]].values.tolist()
    [[1.0, 0.0, 10.0], [2.0, 10.0, 15.0]]
    """
    require(
        WorkloadError,
        [
            "give a cluster or a number of nodes, not both"
            if cluster is not None and nodes is not None
            else None,
            None if nodes is None else whole("nodes", nodes),
            number("speedup", speedup, above=0),
            None if warm_start is None else number("warm start time", warm_start, at_least=0),
        ],
    )
    if policy is not None:
        get_policy(policy)  # an unknown policy is refused before anything is read
    src = open_source(source)
    options: dict[str, Any] = {
        "source": _label(source, src),
        "speedup": speedup,
        "warm_start": warm_start,
        "nodes": nodes,
        "cluster": None if cluster is None else str(getattr(cluster, "name", "") or cluster),
    }
    if isinstance(src, SwfTrace):
        if warm_start is not None:
            raise WorkloadError(
                [
                    f"{src.path or 'trace'}: --warm-start needs a recorded run (a trace holds no state)"
                ]
            )
        cl = (
            as_cluster(cluster)
            if cluster is not None
            else Cluster.uniform(swf_cluster_size(src) if nodes is None else nodes)
        )
        if not cl.name:
            cl = Cluster(cl.nodes, name=f"{len(cl)} nodes", source=cl.source)
        requests: Workload
        requests, _ = swf_workload(src, nodes=len(cl), speedup=speedup)
        options.update(kind="swf", jobs=len(requests))
        recorded: Mapping[str, Any] = {}
    else:
        cl = as_cluster(cluster) if cluster is not None else replay_cluster(src, nodes=nodes)
        if warm_start is None:
            requests = replay_workload(src, speedup=speedup)
        else:
            requests = warm_start_workload(src, warm_start, speedup=speedup)
            _check_bound_nodes(requests, cl)
        recorded = src.meta or {}
        options.update(
            kind="run",
            jobs=len(requests),
            recorded_policy=recorded.get("policy"),
            recorded_clock=recorded.get("clock"),
        )
    injected = _replay_faults(
        faults,
        src,
        cl,
        own_cluster=cluster is None and nodes is None,
        warm_start=warm_start,
        options=options,
    )
    # a trace read from a path is freed here: its requests hold what the run needs
    del src
    if seed is None:
        seed = recorded.get("seed") if isinstance(recorded.get("seed"), int) else 0
    if policy is None:
        policy = str(recorded.get("policy")) if recorded.get("policy") in POLICIES else "fcfs"
    return simulate(
        cl,
        requests,
        policy=policy,
        seed=seed,
        out=out,
        progress=progress,
        inputs={"replay": options},
        overwrite=overwrite,
        default_duration=float(recorded.get("default_duration") or 1.0),
        max_loader_pack=int(recorded.get("max_loader_pack") or 1),
        faults=injected,
    )


def _replay_faults(
    faults: Any,
    src: Any,
    cluster: Cluster,
    *,
    own_cluster: bool,
    warm_start: float | None,
    options: dict[str, Any],
) -> list[Fault]:
    """The faults a replay injects (see :func:`replay`); counts go to ``options``."""
    is_run = not isinstance(src, SwfTrace)
    if isinstance(faults, str):
        if faults not in ("auto", "recorded", "none"):
            raise WorkloadError(
                [
                    f"faults must be 'recorded', 'none' or a list of (time, node_id, down_seconds), got {faults!r}"
                ]
            )
        if faults == "recorded" and not is_run:
            raise WorkloadError(
                [
                    f"{src.path or 'trace'}: --faults recorded needs a recorded run (a trace records no node failures)"
                ]
            )
        mode = (
            "recorded"
            if faults == "recorded" or (faults == "auto" and is_run and own_cluster)
            else "none"
        )
        wanted: list[Fault] = []
        if is_run and faults != "none":
            wanted = recorded_faults(src)
            options["faults_recorded"] = len(wanted)
        if mode == "none":
            wanted = []
    elif faults is None:
        mode, wanted = "none", []
    else:
        mode, wanted = "explicit", _check_faults(faults)
    if warm_start is not None:
        wanted = faults_since(wanted, float(warm_start))
    dropped = 0
    if mode == "recorded":
        have = {n.node_id for n in cluster.nodes}
        kept = [f for f in wanted if f[1] in have]
        dropped = len(wanted) - len(kept)
        wanted = kept
    options.update(faults=mode, faults_applied=len(wanted), faults_dropped=dropped)
    return wanted


def _check_faults(faults: Any) -> list[Fault]:
    """An explicit fault list as (float, str, float) tuples; every malformed entry reported."""
    problems: list[str] = []
    out: list[Fault] = []
    try:
        entries = list(faults)
    except TypeError:
        raise WorkloadError(
            [
                f"faults must be 'recorded', 'none' or a list of (time, node_id, down_seconds), got {faults!r}"
            ]
        ) from None
    for i, entry in enumerate(entries):
        try:
            t, node_id, down = entry
            t, down = float(t), float(down)
        except (TypeError, ValueError):
            problems.append(f"faults[{i}]: expected (time, node_id, down_seconds), got {entry!r}")
            continue
        if not (math.isfinite(t) and t >= 0 and math.isfinite(down) and down >= 0):
            problems.append(
                f"faults[{i}]: time and down_seconds must be finite numbers >= 0, got {entry!r}"
            )
            continue
        out.append((t, str(node_id), down))
    if problems:
        raise WorkloadError(problems)
    return out


def _label(source: Any, src: Any) -> str:
    if isinstance(source, str | os.PathLike):
        return str(source)
    return str(getattr(src, "path", "") or f"<{type(src).__name__}>")


def _check_bound_nodes(requests: Sequence[JobRequest], cluster: Cluster) -> None:
    have = {n.node_id for n in cluster.nodes}
    missing = sorted({i for r in requests if r.bind_to for i in r.bind_to} - have)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise WorkloadError(
            [
                f"--warm-start keeps running jobs on their recorded nodes, and the cluster "
                f"has no node {shown}: warm-start on the recorded cluster (no --nodes/--cluster) "
                f"or on a cluster holding those nodes"
            ]
        )
