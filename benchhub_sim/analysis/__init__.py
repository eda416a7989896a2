"""Metrics, plots, exports and reports over a run's tables."""

from __future__ import annotations

from benchhub_sim.analysis.export import (
    BATSIM_COLUMNS,
    batsim_jobs,
    interval_set,
    to_batsim_csv,
    to_swf,
)
from benchhub_sim.analysis.metrics import (
    BSLD_TAU,
    compare_jobs,
    compare_runs,
    job_metrics,
    makespan,
    mean_utilization,
    node_intervals,
    node_states,
    node_utilization,
    queue_length,
    run_end,
    run_name,
    stage_durations,
    summary,
    throughput,
    time_average,
    utilization,
)
from benchhub_sim.analysis.plot import (
    gantt_rects,
    plot_gantt,
    plot_job_timeline,
    plot_node_states,
    plot_queue_length,
    plot_utilization,
    plot_wait_cdf,
)
from benchhub_sim.analysis.report import write_report

__all__ = [
    "BATSIM_COLUMNS",
    "BSLD_TAU",
    "batsim_jobs",
    "compare_jobs",
    "compare_runs",
    "gantt_rects",
    "interval_set",
    "job_metrics",
    "makespan",
    "mean_utilization",
    "node_intervals",
    "node_states",
    "node_utilization",
    "plot_gantt",
    "plot_job_timeline",
    "plot_node_states",
    "plot_queue_length",
    "plot_utilization",
    "plot_wait_cdf",
    "queue_length",
    "run_end",
    "run_name",
    "stage_durations",
    "summary",
    "throughput",
    "time_average",
    "to_batsim_csv",
    "to_swf",
    "utilization",
    "write_report",
]
