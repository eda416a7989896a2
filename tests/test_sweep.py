"""Sweeps: grid cells, executors (process pool, Dask), failures recorded, reruns skip."""

from __future__ import annotations

import concurrent.futures as cf
import json
import threading
from pathlib import Path

import pandas as pd
import pytest

from benchhub_sim.cli import main
from benchhub_sim.errors import WorkloadError
from benchhub_sim.sweep import cell_name, grid_cells, read_summary, sweep

DATA = Path(__file__).resolve().parents[1] / "data"
METRICS = ["jobs", "finished", "aborted", "makespan_s", "mean_wait_s", "p95_wait_s", "utilization"]


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 40 jobs of data/traces/synthetic.swf (a 32-node machine)."""
    lines = (DATA / "traces" / "synthetic.swf").read_text().splitlines()
    header = [ln for ln in lines if ln.startswith(";")]
    jobs = [ln for ln in lines if ln.strip() and not ln.startswith(";")][:40]
    path = tmp_path_factory.mktemp("trace") / "small.swf"
    path.write_text("\n".join(header + jobs) + "\n")
    return path


def _jobs_file(folder: Path) -> Path:
    """Three 2-node jobs of 10 s each, all submitted at t=0 (a tiny jobs file)."""
    spec = {
        "name": "pair",
        "nodeAssignments": [{"properties": {"name": "w", "role": "any"}, "count": 2}],
        "stages": [
            {
                "name": "run",
                "selectors": [{"name": "w"}],
                "tasks": [
                    {"name": "t", "driver": "shell", "shell": {"command": "true"}, "duration": 10}
                ],
            }
        ],
    }
    path = folder / "jobs.yml"
    path.write_text(json.dumps({"jobs": [{"spec": spec, "submit": 0, "count": 3}]}))
    return path


# --- grid ---------------------------------------------------------------------------------


def test_cells_are_the_cartesian_product_in_key_order():
    cells = grid_cells({"seed": [0, 1], "nodes": [8], "policy": ["fcfs", "easy"]})
    assert [c.name for c in cells] == [
        "policy=fcfs,nodes=8,seed=0",
        "policy=fcfs,nodes=8,seed=1",
        "policy=easy,nodes=8,seed=0",
        "policy=easy,nodes=8,seed=1",
    ]
    assert cells[1].params == {"policy": "fcfs", "nodes": 8, "seed": 1}


def test_cell_names_are_file_safe():
    assert (
        cell_name({"cluster": "data/clusters/64.yml", "speedup": 2.5}) == "speedup=2.5,cluster=64"
    )
    assert cell_name({"policy": "a/b c"}) == "policy=a_b_c"


def test_bad_grid_lists_every_problem():
    with pytest.raises(WorkloadError) as err:
        grid_cells({"polcy": ["fcfs"], "nodes": [], "seed": 3})
    text = str(err.value)
    assert "'polcy': unknown (did you mean 'policy'?)" in text
    assert "grid['nodes']: expected a non-empty list" in text
    assert "grid['seed']: expected a non-empty list" in text


def test_duplicate_values_are_refused():
    with pytest.raises(WorkloadError, match="both named 'seed=0'"):
        grid_cells({"seed": [0, 0]})


def test_missing_workload_is_an_error(tmp_path):
    with pytest.raises(WorkloadError, match="no such file or directory"):
        sweep(tmp_path / "nope.swf", {"policy": ["fcfs"]}, out=tmp_path / "out")


# --- executors ----------------------------------------------------------------------------


def test_dask_local_cluster_gives_the_same_summary_as_the_process_pool(trace, tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"policy": ["fcfs", "easy"], "nodes": [16, 32], "seed": [0]}
    pool = sweep(trace, grid, out=tmp_path / "pool", max_workers=2)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dask = sweep(trace, grid, out=tmp_path / "dask", executor=client)
        assert client.status == "running"  # a client we were given is left open
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        by_address = sweep(trace, grid, out=tmp_path / "addr", executor=address)
    cols = ["cell", "policy", "nodes", "seed", "status", *METRICS]
    pd.testing.assert_frame_equal(dask[cols], pool[cols])
    pd.testing.assert_frame_equal(by_address[cols], pool[cols])
    assert (pool["status"] == "ok").all()
    # jobs asking for more procs than the cluster has are left out of the replay
    procs = [int(ln.split()[7]) for ln in trace.read_text().splitlines() if not ln.startswith(";")]
    small = sum(p <= 16 for p in procs)
    assert small < 40
    assert list(pool["jobs"]) == [small, 40, small, 40]


def broken(view):
    """A policy that raises: its cell fails while the sweep runs."""
    raise RuntimeError("boom")


def test_a_failing_cell_is_recorded_and_the_rest_completes(trace, tmp_path):
    grid = {"policy": ["fcfs", broken], "nodes": [32]}
    df = sweep(trace, grid, out=tmp_path / "s", executor=cf.ThreadPoolExecutor(2))
    ok, bad = df.iloc[0], df.iloc[1]
    assert (ok["status"], ok["error"], int(ok["jobs"])) == ("ok", "", 40)
    assert (bad["cell"], bad["status"]) == ("policy=broken,nodes=32", "failed")
    assert "ScheduleError: policy broken raised RuntimeError: boom" in bad["error"]
    assert pd.isna(bad["jobs"]) and pd.isna(bad["mean_wait_s"])
    saved = read_summary(tmp_path / "s")
    assert list(saved["status"]) == ["ok", "failed"]
    assert Path(ok["run_dir"]) == (tmp_path / "s" / "policy=fcfs,nodes=32").resolve()
    assert json.loads((Path(ok["run_dir"]) / "run.json").read_text())["complete"] is True


class CountingExecutor(cf.ThreadPoolExecutor):
    """A thread pool that counts the cells it was given."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.count = 0
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        with self._lock:
            self.count += 1
        return super().submit(fn, *args, **kwargs)


def test_a_rerun_skips_finished_cells_and_redoes_failed_and_damaged_ones(trace, tmp_path):
    out = tmp_path / "s"
    grid = {"policy": ["fcfs", "easy", broken], "nodes": [32]}
    first = sweep(trace, grid, out=out, executor=CountingExecutor())
    assert list(first["status"]) == ["ok", "ok", "failed"]
    mtime = (out / "policy=fcfs,nodes=32" / "jobs.parquet").stat().st_mtime_ns
    # damage one finished cell: its run is no longer complete
    meta = out / "policy=easy,nodes=32" / "run.json"
    meta.write_text(meta.read_text().replace('"complete": true', '"complete": false'))

    again = CountingExecutor()
    second = sweep(trace, grid, out=out, executor=again)
    assert again.count == 2  # easy (damaged) and broken (failed); fcfs skipped
    assert second.attrs["skipped"] == 1
    assert (out / "policy=fcfs,nodes=32" / "jobs.parquet").stat().st_mtime_ns == mtime
    cols = ["cell", "status", *METRICS]
    pd.testing.assert_frame_equal(second[cols], first[cols])

    third = CountingExecutor()
    sweep(trace, {"policy": ["fcfs", "easy"], "nodes": [32]}, out=out, executor=third)
    assert third.count == 0


def test_jobs_file_on_n_generous_nodes(tmp_path):
    jobs = _jobs_file(tmp_path)
    df = sweep(jobs, {"nodes": [2, 6]}, out=tmp_path / "s", executor=cf.ThreadPoolExecutor(1))
    by = df.set_index("nodes")
    # 3 jobs of 2 nodes x 10 s: on 2 nodes one at a time (makespan 30 s, waits 0, 10, 20),
    # on 6 nodes all at once (10 s, no wait)
    assert by.loc[2, "makespan_s"] == pytest.approx(30.0)
    assert by.loc[2, "mean_wait_s"] == pytest.approx(10.0)
    assert by.loc[6, "makespan_s"] == pytest.approx(10.0)
    assert by.loc[6, "mean_wait_s"] == pytest.approx(0.0)


def test_jobs_file_nodes_take_the_capacity_of_the_clusters_largest_node(tmp_path):
    spec = {
        "name": "big",
        "nodeAssignments": [
            {"properties": {"name": "w", "role": "any"}, "count": 2, "requirements": {"cores": 8}}
        ],
        "stages": [
            {
                "name": "run",
                "selectors": [{"name": "w"}],
                "tasks": [
                    {"name": "t", "driver": "shell", "shell": {"command": "true"}, "duration": 10}
                ],
            }
        ],
    }
    jobs = tmp_path / "jobs.yml"
    jobs.write_text(json.dumps({"jobs": [{"spec": spec, "count": 3}]}))
    # largest node: 16 cores (a loader) -> 8-core jobs fit; largest 4 cores -> they never fit
    (tmp_path / "mixed.yml").write_text(
        "name: mixed\nnodes:\n  - {id: a, role: database, count: 1, cores: 4}\n"
        "  - {id: b, role: loader, count: 1, cores: 16}\n"
    )
    (tmp_path / "four.yml").write_text("name: four\nnodes:\n  - {id: a, count: 3, cores: 4}\n")
    grid = {"nodes": [2], "cluster": [str(tmp_path / "mixed.yml"), str(tmp_path / "four.yml")]}
    df = sweep(jobs, grid, out=tmp_path / "s", executor=cf.ThreadPoolExecutor(1))
    assert list(df["cell"]) == ["nodes=2,cluster=mixed", "nodes=2,cluster=four"]
    assert list(df["cluster"]) == grid["cluster"]
    assert (int(df.loc[0, "finished"]), df.loc[0, "makespan_s"]) == (3, pytest.approx(30.0))
    assert int(df.loc[1, "aborted"]) == 3


def test_jobs_file_speedup_makes_nodes_faster(tmp_path):
    jobs = _jobs_file(tmp_path)
    df = sweep(
        jobs,
        {"nodes": [2], "speedup": [1.0, 4.0]},
        out=tmp_path / "s",
        executor=cf.ThreadPoolExecutor(1),
    )
    # three 10 s jobs one after the other; four times faster nodes: 2.5 s each
    assert list(df["cell"]) == ["nodes=2,speedup=1", "nodes=2,speedup=4"]
    assert list(df["makespan_s"]) == pytest.approx([30.0, 7.5])


def test_jobs_file_needs_nodes_or_a_cluster(tmp_path):
    df = sweep(
        _jobs_file(tmp_path),
        {"policy": ["fcfs"]},
        out=tmp_path / "s",
        executor=cf.ThreadPoolExecutor(1),
    )
    assert df.loc[0, "status"] == "failed"
    assert "needs 'nodes' or 'cluster'" in df.loc[0, "error"]


def test_swf_trace_with_speedup_and_a_recorded_run_replayed(trace, tmp_path):
    ex = cf.ThreadPoolExecutor(2)
    swf = sweep(trace, {"nodes": [32], "speedup": [1.0, 2.0]}, out=tmp_path / "a", executor=ex)
    busy = swf["utilization"] * swf["makespan_s"]  # busy node-seconds / 32
    # speedup 2 halves every run time, so exactly half the busy node-seconds
    assert busy[1] == pytest.approx(busy[0] / 2)
    procs_x_runtime = sum(
        int(f[7]) * int(f[3])
        for f in (ln.split() for ln in trace.read_text().splitlines())
        if f[0] != ";"
    )
    assert busy[0] * 32 == pytest.approx(procs_x_runtime)
    recorded = swf.loc[0, "run_dir"]
    again = sweep(recorded, {"policy": ["fcfs"]}, out=tmp_path / "b", executor=ex)
    # replaying a run under its own policy on its own nodes gives the same schedule
    cols = ["jobs", "makespan_s", "mean_wait_s", "utilization"]
    assert list(again.loc[0, cols]) == pytest.approx(list(swf.loc[0, cols]))


def test_unknown_workload_kind(tmp_path):
    (tmp_path / "w.csv").write_text("x\n")
    with pytest.raises(WorkloadError, match="unknown kind of workload"):
        sweep(tmp_path / "w.csv", {"policy": ["fcfs"]}, out=tmp_path / "s")


def test_progress_bars_stay_off_when_not_a_terminal(trace, tmp_path, capfd):
    sweep(trace, {"policy": ["fcfs"]}, out=tmp_path / "s", executor=cf.ThreadPoolExecutor(1))
    assert capfd.readouterr().err == ""


# --- command line -------------------------------------------------------------------------


def test_cli_sweep_prints_the_summary_and_exits_1_on_a_failed_cell(trace, tmp_path, capsys):
    out = tmp_path / "s"
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text("nodes: [{id: n, role: any, count: 16}]\n")
    bad.write_text("nodes: [{id: n, role: any, count: 0}]\n")  # found when the cell runs
    code = main(
        [
            "sweep",
            "--workload",
            str(trace),
            "--clusters",
            f"{good},{bad}",
            "--seeds",
            "0",
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    text = capsys.readouterr().out
    assert code == 1
    assert "policy=fcfs,seed=0,cluster=good" in text and "failed" in text
    # jobs asking for more than 16 procs are left out of the good cell: counted, flagged
    procs = [int(ln.split()[7]) for ln in trace.read_text().splitlines() if not ln.startswith(";")]
    large = sum(p > 16 for p in procs)
    assert 0 < large < 40
    row = next(ln for ln in text.splitlines() if ln.startswith("policy=fcfs,seed=0,cluster=good "))
    assert row.endswith(f"{large} !")
    assert f"  policy=fcfs,seed=0,cluster=good: skipped {large} job(s) of the workload" in text
    summary = read_summary(out).set_index("cell")
    assert summary.loc["policy=fcfs,seed=0,cluster=good", "skipped"] == large
    assert summary.loc["policy=fcfs,seed=0,cluster=good", "skipped_reasons"] == f"too_large {large}"
    assert pd.isna(summary.loc["policy=fcfs,seed=0,cluster=bad", "skipped"])
    assert "2 cells: 1 ok, 1 failed" in text
    assert (out / "summary.parquet").is_file()


def test_cli_sweep_bad_input_exits_2(trace, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "--workload", str(trace), "--nodes", "32,x", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "argument --nodes: '32,x': expected a whole number, found 'x'" in capsys.readouterr().err
    code = main(["sweep", "--workload", str(trace), "--dask", "nowhere", "--out", str(tmp_path)])
    assert code == 2
    assert "executor 'nowhere'" in capsys.readouterr().err
