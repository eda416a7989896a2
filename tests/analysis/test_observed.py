"""Metrics and results of a real run, as functions and plots (hand-made tables)."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from benchhub_sim.analysis.observed import (  # noqa: E402
    metric_series,
    plot_metrics,
    results_summary,
)
from benchhub_sim.store import Store  # noqa: E402
from benchhub_sim.store.rows import rows_to_batch  # noqa: E402
from benchhub_sim.store.run import Run  # noqa: E402
from benchhub_sim.store.schema import METRICS_SCHEMA, RESULTS_SCHEMA  # noqa: E402

MiB = 2**20


def _run() -> Run:
    def task(t, value, task="server", node="n0", metric="rss_bytes", unit="B"):
        return (t, node, 0, "srv", "serve", task, 0, "sample", metric, value, unit)

    def node(t, value, node_id="n0", metric="rss_bytes", unit="B"):
        return (t, node_id, None, None, None, None, None, "sample", metric, value, unit)

    metrics = [
        node(1.0, 100 * MiB, metric="mem_used_bytes"),
        node(1.0, 300 * MiB, node_id="n1", metric="mem_used_bytes"),
        node(2.0, 120 * MiB, metric="mem_used_bytes"),
        task(1.0, 10 * MiB),
        task(2.0, 30 * MiB),
        task(2.0, 5 * MiB, task="probe"),
        task(1.0, 50.0, metric="cpu_percent", unit="%"),
        (0.5, "n0", 0, None, None, None, None, "before", "load1", 0.3, None),  # not a sample
    ]
    results = [
        (3.0, "n1", 0, "cli", "ping", "ping", 0, "latency_ms", v, "ms") for v in (1.0, 2.0, 6.0)
    ] + [(3.5, "n1", 0, "cli", "ping", "ping", 0, "requests", 3.0, None)]
    tables = dict(Store().tables())
    tables["metrics"] = rows_to_batch(metrics, METRICS_SCHEMA)
    tables["results"] = rows_to_batch(results, RESULTS_SCHEMA)
    return Run({k: _table(v) for k, v in tables.items()})


def _table(t):
    import pyarrow as pa

    return pa.Table.from_batches([t]) if isinstance(t, pa.RecordBatch) else t


def test_a_metric_by_node_or_one_node_and_its_tasks():
    run = _run()
    by_node = metric_series(run, "mem_used_bytes")
    assert list(by_node.columns) == ["n0", "n1"]
    assert by_node["n0"].tolist() == [100 * MiB, 120 * MiB]
    assert by_node["n1"].dropna().tolist() == [300 * MiB]
    one = metric_series(run, "rss_bytes", "n0")
    assert list(one.columns) == ["serve.probe@srv#0", "serve.server@srv#0"]
    assert one["serve.server@srv#0"].tolist() == [10 * MiB, 30 * MiB]
    with pytest.raises(ValueError, match=r"no metric 'rss' in this run \(it has: cpu_percent, mem"):
        metric_series(run, "rss")
    with pytest.raises(ValueError, match=r"no node 'n9' in this run's metrics \(nodes: n0\)"):
        metric_series(run, "rss_bytes", "n9")


def test_plot_metrics_draws_the_samples_in_mib():
    run = _run()
    ax = plot_metrics(run, "mem_used_bytes")
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines) == ["n0", "n1"]
    assert list(lines["n0"].get_xdata()) == [1.0, 2.0]
    assert list(lines["n0"].get_ydata()) == [100.0, 120.0]
    assert ax.get_ylabel() == "mem_used_bytes (MiB)" and ax.get_title() == "mem_used_bytes by node"
    ax = plot_metrics(run, "cpu_percent", node="n0")
    assert [line.get_label() for line in ax.lines] == ["serve.server@srv#0"]
    assert list(ax.lines[0].get_ydata()) == [50.0] and ax.get_ylabel() == "cpu_percent (%)"


def test_results_per_job_task_and_name():
    s = results_summary(_run())
    assert s[["name", "count", "mean", "min", "p50", "max"]].values.tolist() == [
        ["latency_ms", 3, 3.0, 1.0, 2.0, 6.0],
        ["requests", 1, 3.0, 3.0, 3.0, 3.0],
    ]
    # p95 of 1, 2, 6 (linear interpolation): 2 + 0.9 * (6 - 2)
    assert s["p95"][0] == pytest.approx(5.6)
    assert s["unit"].tolist() == ["ms", ""]
    assert results_summary(Run(Store().tables())).empty  # a simulation reported nothing
