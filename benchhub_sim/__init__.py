"""benchhub_sim: explore, simulate, execute and replay BenchHub benchmark clusters.

The names below are the public API; submodules hold the rest (``benchhub_sim.spec``,
``benchhub_sim.store``, ``benchhub_sim.sched``, ``benchhub_sim.engine``,
``benchhub_sim.workload``, ``benchhub_sim.analysis``).
"""

from __future__ import annotations

__version__ = "0.1.0"

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
from benchhub_sim.cluster import Cluster, Node, cluster_table, load_cluster, node_table
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
from benchhub_sim.execute import execute
from benchhub_sim.graph import critical_path, plot_stage_graph, stage_graph
from benchhub_sim.plan import Plan, plan_job
from benchhub_sim.sched.assign import assign_nodes
from benchhub_sim.sched.policies import POLICIES
from benchhub_sim.shipped import examples_dir
from benchhub_sim.simulate import simulate
from benchhub_sim.spec import JobSpec, dump_spec, estimate_walltime, load_spec, validate_spec
from benchhub_sim.store import JobDetail, Run, Store, as_of, job_detail, load_run
from benchhub_sim.sweep import sweep
from benchhub_sim.workload import JobRequest, Workload
from benchhub_sim.workload.arrivals import fixed_arrivals, poisson_arrivals
from benchhub_sim.workload.jobsfile import load_jobs
from benchhub_sim.workload.replay import replay, replay_workload
from benchhub_sim.workload.swf import read_swf, swf_jobs, write_swf

__all__ = [
    "POLICIES",
    "BenchhubSimError",
    "Cluster",
    "ClusterError",
    "JobDetail",
    "JobRequest",
    "JobSpec",
    "Node",
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
    "plot_node_states",
    "plot_metrics",
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
    "results_summary",
    "replay_workload",
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
