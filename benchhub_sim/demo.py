"""``benchhub-sim demo``: the first thing to run, on the shipped examples only.

A mixed stream of benchmark jobs (ping-pong, a database with three loaders, an OLTP-like
job; Poisson arrivals, specs drawn at random) runs on the 64-node cluster under four
queue policies, BenchHub's own central first. Each run is saved as a run directory ``OUT/<policy>/`` and one report
``OUT/report.html`` compares them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchhub_sim.errors import WorkloadError

#: the specs of the stream, from the examples' ``specs/``
DEMO_SPECS: tuple[str, ...] = ("pingpong.yml", "db-loaders.yml", "oltp.yml")
#: the cluster, from the examples' ``clusters/``: 20 nodes can host a database, so the queue
#: builds up at the chosen rate and the policies differ
DEMO_CLUSTER = "64.yml"
#: BenchHub's own central first: the question a BenchHub operator asks is what EASY or
#: SJF would give over the central as it is
DEMO_POLICIES: tuple[str, ...] = ("benchhub", "fcfs", "easy", "sjf")
#: arrivals per second: about 85% of the database nodes' capacity
DEMO_RATE = 0.05


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote.

    Parameters
    ----------
    out : Path
        The demo directory.
    runs : mapping of policy to Run
        One run per policy, saved in ``out / policy``.
    report : Path
        The comparison report.
    table : pandas.DataFrame
        :func:`~benchhub_sim.analysis.metrics.compare_runs` of the runs.
    notes : tuple of str
        What the table does not say by itself (see :func:`makespan_note`).
    """

    out: Path
    runs: dict[str, Any] = field(repr=False)
    report: Path
    table: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()


def makespan_note(runs: Sequence[Any]) -> str | None:
    """Why the makespans of runs of the same jobs are equal, when they are and this is why.

    The makespan runs from the first submit to the last stop. When the job that ends
    last started the moment it arrived in every run, the run ends at its arrival plus
    its duration: the same under every policy (job *k* draws the same durations).

    Returns
    -------
    str or None
        One line, or None when the makespans differ or are equal for another reason.
    """
    from benchhub_sim.analysis.metrics import job_metrics, makespan

    spans = [makespan(r) for r in runs]
    if len(runs) < 2 or not all(np.isclose(s, spans[0], rtol=1e-9, atol=0) for s in spans):
        return None
    for run in runs:
        jm = job_metrics(run)
        last = jm.loc[jm["stop_time"].idxmax()]
        if last["wait"] != 0:  # (NaN: it never started)
            return None
    return (
        "equal makespans: under every policy the last job to end started on arrival, so "
        "the policies differ in waits, not in when the run ends"
    )


def run_demo(
    out: str | os.PathLike[str] = "benchhub-demo",
    *,
    jobs: int = 600,
    policies: Sequence[str] = DEMO_POLICIES,
    rate: float = DEMO_RATE,
    seed: int = 1,
    progress: Callable[[int, float], None] | None = None,
) -> DemoResult:
    """Run the demo stream under each policy and write the runs and one report.

    Parameters
    ----------
    out : path
        Demo directory; runs already there (from an earlier demo) are replaced.
    jobs : int
        Jobs in the stream.
    policies : sequence of str
        One run per policy, on the same jobs (same arrivals and durations).
    rate : float
        Poisson arrivals per second.
    seed : int
        Seeds arrivals, the spec mix, durations and failures.
    progress : callable, optional
        ``progress(jobs_ended_so_far, now)`` over all runs (``jobs * len(policies)`` in all).

    Returns
    -------
    DemoResult

    Raises
    ------
    WorkloadError
        When the shipped data is missing, ``jobs`` < 1, or a spec cannot be placed on
        the cluster (its node assignments or capacity requirements cannot be met).
    """
    from benchhub_sim.analysis.metrics import compare_runs
    from benchhub_sim.analysis.report import write_report
    from benchhub_sim.cluster import load_cluster
    from benchhub_sim.errors import ScheduleError
    from benchhub_sim.sched.assign import assign_nodes
    from benchhub_sim.shipped import examples_dir
    from benchhub_sim.simulate import simulate
    from benchhub_sim.spec.load import load_spec
    from benchhub_sim.workload.arrivals import poisson_arrivals

    if jobs < 1:
        raise WorkloadError([f"--jobs must be >= 1, got {jobs}"])
    data = examples_dir()
    cluster = load_cluster(data / "clusters" / DEMO_CLUSTER)
    specs = [load_spec(data / "specs" / name) for name in DEMO_SPECS]
    for name, spec in zip(DEMO_SPECS, specs, strict=True):
        try:
            assign_nodes(spec, cluster.nodes)
        except ScheduleError as exc:
            raise WorkloadError([f"{name} cannot run on {DEMO_CLUSTER}: {exc}"]) from None
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    inputs = {
        "demo": True,
        "specs": [f"examples/specs/{n}" for n in DEMO_SPECS],
        "cluster": f"examples/clusters/{DEMO_CLUSTER}",
        "arrivals": f"poisson:{rate:g}",
        "mix": "random",
        "count": jobs,
    }
    runs: dict[str, Any] = {}
    for k, policy in enumerate(policies):
        hook = None
        if progress is not None:

            def hook(done: int, now: float, _offset: int = k * jobs) -> None:
                progress(_offset + done, now)

        stream = poisson_arrivals(specs, rate=rate, count=jobs, seed=seed, mix="random")
        runs[policy] = simulate(
            cluster,
            stream,
            policy=policy,
            seed=seed,
            out=root / policy,
            overwrite=True,
            progress=hook,
            inputs=inputs,
        )
    names = list(runs)
    table = compare_runs(list(runs.values()), names)
    report = write_report(
        list(runs.values()),
        root / "report.html",
        names=names,
        title=f"benchhub_sim demo: {jobs} benchmark jobs on {cluster.name or DEMO_CLUSTER}, "
        + " vs ".join(names),
    )
    note = makespan_note(list(runs.values()))
    return DemoResult(
        out=root, runs=runs, report=report, table=table, notes=(note,) if note else ()
    )
