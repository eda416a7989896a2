"""benchhub_sim: explore, simulate, execute and replay BenchHub benchmark clusters.

The names in ``__all__`` are the public API; submodules hold the rest
(``benchhub_sim.spec``, ``benchhub_sim.store``, ``benchhub_sim.sched``,
``benchhub_sim.engine``, ``benchhub_sim.workload``, ``benchhub_sim.analysis``). They are
imported when first used (PEP 562), so that ``import benchhub_sim`` and a command that
needs no plots or tables start at once.

Layers
------
Each module imports only from its own layer or the ones below it (:data:`LAYERS`, lowest
first; ``tests/test_layers.py`` checks every import, at module level and inside
functions):

1. utilities (``errors``, ``_version``, ``clock``, ``io``, ``lazy``, ``progress``,
   ``params``, ``display``, ``shipped``): error classes, the one reader of wall time,
   atomic writes, names imported on first use, argument rules, text and HTML helpers;
   they know nothing of benchmarks.
2. ``spec``: BenchHub job specs, their YAML dialects, validation and templates.
3. ``rng``: seeds and the random draws of durations that specs describe.
4. ``cluster``: nodes and cluster files.
5. ``graph`` and ``sched``: a spec's stage graph; node assignment and queue policies.
6. ``plan``: which node runs what, for one job on one cluster.
7. ``store``: the Arrow schemas, the node and job stores, their history, run directories.
8. ``workload``: job requests and the streams that make them (jobs files, arrival
   processes, SWF traces, recorded runs); the engine consumes them.
9. ``engine``: the discrete-event loop, its clocks, the central, agents and executors.
10. ``simulate``, ``execute``, ``replay``: a workload run on a cluster, in virtual or wall
    time, or a recorded run or trace run again.
11. ``analysis``: metrics, plots, exports and reports over runs.
12. ``sweep``: many runs over a grid, and their comparison.
13. ``cli``, ``demo``, this package's ``__init__`` and ``__main__``, the shipped
    ``examples``: the front doors.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchhub_sim._version import __version__
from benchhub_sim.errors import (
    BenchhubSimError,
    ClusterError,
    RunFormatError,
    ScheduleError,
    SpecError,
    StoreError,
    UsageError,
    WorkloadError,
)
from benchhub_sim.io import register_run_writer
from benchhub_sim.lazy import lazy_dir, lazy_getattr

#: the package's layers, lowest first: a module imports from its own layer or below
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version", "clock", "io", "lazy", "progress", "params", "display", "shipped"),
    ("spec",),
    ("rng",),
    ("cluster",),
    ("graph", "sched"),
    ("plan",),
    ("store",),
    ("workload",),
    ("engine",),
    ("simulate", "execute", "replay"),
    ("analysis",),
    ("sweep",),
    ("cli", "demo", "__init__", "__main__", "examples"),
)

#: the module of every public name that is imported on first use
_LAZY: dict[str, str] = {
    "Summary": "benchhub_sim.analysis",
    "SummaryTable": "benchhub_sim.analysis",
    "compare_jobs": "benchhub_sim.analysis",
    "compare_runs": "benchhub_sim.analysis",
    "compare_stages": "benchhub_sim.analysis",
    "fit_durations": "benchhub_sim.analysis",
    "job_metrics": "benchhub_sim.analysis",
    "plot_gantt": "benchhub_sim.analysis",
    "plot_job_timeline": "benchhub_sim.analysis",
    "plot_metrics": "benchhub_sim.analysis",
    "plot_node_states": "benchhub_sim.analysis",
    "plot_queue_length": "benchhub_sim.analysis",
    "plot_stage_comparison": "benchhub_sim.analysis",
    "plot_stage_durations": "benchhub_sim.analysis",
    "plot_utilization": "benchhub_sim.analysis",
    "plot_wait_by_spec": "benchhub_sim.analysis",
    "plot_wait_cdf": "benchhub_sim.analysis",
    "queue_length": "benchhub_sim.analysis",
    "results_summary": "benchhub_sim.analysis",
    "stage_durations": "benchhub_sim.analysis",
    "summary": "benchhub_sim.analysis",
    "utilization": "benchhub_sim.analysis",
    "write_report": "benchhub_sim.analysis",
    "Cluster": "benchhub_sim.cluster",
    "Node": "benchhub_sim.cluster",
    "cluster_table": "benchhub_sim.cluster",
    "load_cluster": "benchhub_sim.cluster",
    "execute": "benchhub_sim.execute",
    "critical_path": "benchhub_sim.graph",
    "plot_stage_graph": "benchhub_sim.graph",
    "stage_graph": "benchhub_sim.graph",
    "Plan": "benchhub_sim.plan",
    "plan_job": "benchhub_sim.plan",
    "replay": "benchhub_sim.replay",
    "assign_nodes": "benchhub_sim.sched.assign",
    "POLICIES": "benchhub_sim.sched.policies",
    "examples_dir": "benchhub_sim.shipped",
    "simulate": "benchhub_sim.simulate",
    "JobSpec": "benchhub_sim.spec",
    "dump_spec": "benchhub_sim.spec",
    "estimate_walltime": "benchhub_sim.spec",
    "load_spec": "benchhub_sim.spec",
    "validate_spec": "benchhub_sim.spec",
    "JobDetail": "benchhub_sim.store",
    "Run": "benchhub_sim.store",
    "Store": "benchhub_sim.store",
    "as_of": "benchhub_sim.store",
    "job_detail": "benchhub_sim.store",
    "load_run": "benchhub_sim.store",
    "node_table": "benchhub_sim.store.nodes",
    "sweep": "benchhub_sim.sweep",
    "JobRequest": "benchhub_sim.workload",
    "Workload": "benchhub_sim.workload",
    "fixed_arrivals": "benchhub_sim.workload.arrivals",
    "poisson_arrivals": "benchhub_sim.workload.arrivals",
    "load_jobs": "benchhub_sim.workload.jobsfile",
    "replay_workload": "benchhub_sim.workload.replay",
    "read_swf": "benchhub_sim.workload.swf",
    "swf_jobs": "benchhub_sim.workload.swf",
    "write_swf": "benchhub_sim.workload.swf",
}

__all__ = [
    "BenchhubSimError",
    "Cluster",
    "ClusterError",
    "JobDetail",
    "JobRequest",
    "JobSpec",
    "Node",
    "POLICIES",
    "Plan",
    "Run",
    "RunFormatError",
    "ScheduleError",
    "SpecError",
    "Store",
    "StoreError",
    "Summary",
    "SummaryTable",
    "UsageError",
    "Workload",
    "WorkloadError",
    "__version__",
    "as_of",
    "assign_nodes",
    "cluster_table",
    "compare_jobs",
    "compare_runs",
    "compare_stages",
    "critical_path",
    "dump_spec",
    "estimate_walltime",
    "examples_dir",
    "execute",
    "fit_durations",
    "fixed_arrivals",
    "job_detail",
    "job_metrics",
    "load_cluster",
    "load_jobs",
    "load_run",
    "load_spec",
    "node_table",
    "plan_job",
    "plot_gantt",
    "plot_job_timeline",
    "plot_metrics",
    "plot_node_states",
    "plot_queue_length",
    "plot_stage_comparison",
    "plot_stage_durations",
    "plot_stage_graph",
    "plot_utilization",
    "plot_wait_by_spec",
    "plot_wait_cdf",
    "poisson_arrivals",
    "queue_length",
    "read_swf",
    "replay",
    "replay_workload",
    "results_summary",
    "simulate",
    "stage_durations",
    "stage_graph",
    "summary",
    "sweep",
    "swf_jobs",
    "utilization",
    "validate_spec",
    "write_report",
    "write_swf",
]


__getattr__ = lazy_getattr(__name__, _LAZY)


__dir__ = lazy_dir(__name__, __all__)


class _Package(types.ModuleType):
    """This package's module type: a submodule never hides the function of its name.

    Importing the submodule ``benchhub_sim.simulate`` sets the package's attribute
    ``simulate`` to it; the public ``simulate`` is the function (as it was when every
    name was imported up front), so such an assignment is left out.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _LAZY:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


# Exports of a run in other tools' formats: ``Run.to_swf`` and ``Run.to_batsim_csv`` (the
# store's) find their writers here, registered from the top so the store imports no layer
# above it; the writers themselves are imported when called.


@register_run_writer("swf")
def _write_swf(run: Any, path: str | os.PathLike[str]) -> Path:
    from benchhub_sim.workload.swf import write_swf

    return write_swf(run, path)


@register_run_writer("batsim-csv")
def _write_batsim_csv(run: Any, path: str | os.PathLike[str]) -> Path:
    from benchhub_sim.analysis.export import to_batsim_csv

    return to_batsim_csv(run, path)


if TYPE_CHECKING:  # what __getattr__ returns, for type checkers and editors
    from benchhub_sim.analysis import (
        Summary,
        SummaryTable,
        compare_jobs,
        compare_runs,
        compare_stages,
        fit_durations,
        job_metrics,
        plot_gantt,
        plot_job_timeline,
        plot_metrics,
        plot_node_states,
        plot_queue_length,
        plot_stage_comparison,
        plot_stage_durations,
        plot_utilization,
        plot_wait_by_spec,
        plot_wait_cdf,
        queue_length,
        results_summary,
        stage_durations,
        summary,
        utilization,
        write_report,
    )
    from benchhub_sim.cluster import Cluster, Node, cluster_table, load_cluster
    from benchhub_sim.execute import execute
    from benchhub_sim.graph import critical_path, plot_stage_graph, stage_graph
    from benchhub_sim.plan import Plan, plan_job
    from benchhub_sim.replay import replay
    from benchhub_sim.sched.assign import assign_nodes
    from benchhub_sim.sched.policies import POLICIES
    from benchhub_sim.shipped import examples_dir
    from benchhub_sim.simulate import simulate
    from benchhub_sim.spec import JobSpec, dump_spec, estimate_walltime, load_spec, validate_spec
    from benchhub_sim.store import JobDetail, Run, Store, as_of, job_detail, load_run
    from benchhub_sim.store.nodes import node_table
    from benchhub_sim.sweep import sweep
    from benchhub_sim.workload import JobRequest, Workload
    from benchhub_sim.workload.arrivals import fixed_arrivals, poisson_arrivals
    from benchhub_sim.workload.jobsfile import load_jobs
    from benchhub_sim.workload.replay import replay_workload
    from benchhub_sim.workload.swf import read_swf, swf_jobs, write_swf
