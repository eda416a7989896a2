"""Outputs: nothing lost, nothing half-written pretending to be a run (issue 12 §6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine.builders import one_task  # tests/ is on the path (tests/conftest.py)

import benchhub_sim as bh
from benchhub_sim.cli import main
from benchhub_sim.errors import RunFormatError, ScheduleError, WorkloadError
from benchhub_sim.io import atomic_path

DATA = Path(__file__).resolve().parents[1] / "data"
SPEC = str(DATA / "specs" / "exp-task.yml")


def _simulate(out: Path, *more: str) -> int:
    return main(["simulate", "--nodes", "2", "--spec", SPEC, "--quiet", "--out", str(out), *more])


def test_out_at_a_file_or_among_other_files_is_refused(tmp_path, capsys):
    """Before: a FileExistsError traceback; Parquet files written among the user's files."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert _simulate(a_file) == 2
    assert f"error: {a_file}: is a file, not a directory" in capsys.readouterr().err
    assert a_file.read_text() == "mine"
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "data.csv").write_text("1,2\n")
    for extra in ([], ["--overwrite"]):  # --overwrite replaces a run, never other files
        assert _simulate(folder, *extra) == 2
        assert "not empty and not a run directory" in capsys.readouterr().err
        assert sorted(p.name for p in folder.iterdir()) == ["data.csv"]
    with pytest.raises(RunFormatError, match="not empty and not a run directory"):
        bh.simulate(2, one_task(1, 2.0), out=folder, overwrite=True)
    # a run directory with a user's file in it: --overwrite replaces the run, keeps the file
    run_dir = tmp_path / "run"
    assert _simulate(run_dir) == 0
    (run_dir / "keep.txt").write_text("mine")
    assert _simulate(run_dir, "--overwrite") == 0
    assert (run_dir / "keep.txt").read_text() == "mine"


def _boom(view):
    raise RuntimeError("boom")


def test_a_run_that_raised_says_so_and_is_not_replayed(tmp_path, capsys):
    """Before: run.json said only complete: false, and replay printed 'jobs 0', exit 0."""
    out = tmp_path / "r"
    with pytest.raises(ScheduleError, match="policy _boom raised RuntimeError: boom"):
        bh.simulate(2, [one_task(1, 2.0), one_task(1, 2.0)], policy=_boom, out=out)
    meta = json.loads((out / "run.json").read_text())
    assert meta["complete"] is False
    assert meta["error"].startswith("ScheduleError: policy _boom raised RuntimeError: boom")
    with pytest.warns(UserWarning, match="not a finished run: it raised ScheduleError"):
        bh.load_run(out)
    assert main(["replay", str(out), "--out", str(tmp_path / "again")]) == 2
    assert "not a finished run (it raised ScheduleError" in capsys.readouterr().err
    assert not (tmp_path / "again").exists()
    with pytest.raises(WorkloadError, match="not a finished run"):
        bh.replay(out)
    with pytest.raises(WorkloadError, match="not a finished run"):  # not once per cell
        bh.sweep(out, {"policy": ["fcfs", "easy"]}, out=tmp_path / "s")
    assert not (tmp_path / "s").exists()
    # a rerun with overwrite replaces it with a finished run
    run = bh.simulate(2, [one_task(1, 2.0), one_task(1, 2.0)], out=out, overwrite=True)
    assert run.complete and "error" not in json.loads((out / "run.json").read_text())


def test_an_interrupted_run_says_so(tmp_path):
    def interrupt(done, now):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bh.simulate(1, [one_task(1, 2.0), one_task(1, 2.0)], out=tmp_path / "r", progress=interrupt)
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    assert (meta["complete"], meta["error"]) == (False, "KeyboardInterrupt")


def test_report_and_export_to_a_directory_are_refused(tmp_path, capsys):
    run_dir = tmp_path / "r"
    bh.simulate(2, one_task(1, 2.0), out=run_dir)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for command in (["report", str(run_dir)], ["export", str(run_dir), "--format", "swf"]):
        assert main([*command, "-o", str(folder)]) == 2  # before: an IsADirectoryError traceback
        assert f"error: {folder}: is a directory" in capsys.readouterr().err


def test_a_writer_that_dies_halfway_leaves_the_old_file(tmp_path, capsys, monkeypatch):
    target = tmp_path / "g.png"
    target.write_bytes(b"old")
    import matplotlib.figure

    def half(self, fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", half)
    assert main(["graph", SPEC, "-o", str(target)]) == 2  # before: a half PNG under g.png
    assert "No space left on device" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]  # no temporary file either
    assert target.read_bytes() == b"old"
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.write_text("new")
        raise ValueError
    assert target.read_bytes() == b"old"


def test_skipped_trace_jobs_are_counted_by_reason_and_printed(tmp_path, capsys):
    """Before: one number under inputs.replay, printed without reasons; sweeps dropped it."""
    trace = tmp_path / "t.swf"
    trace.write_text(
        "; MaxProcs: 4\n"
        "1 0 -1 10 2 -1 -1 2 20 -1 1 1 1 -1 1 1 -1 -1\n"
        "2 1 -1 -1 1 -1 -1 1 20 -1 1 1 1 -1 1 1 -1 -1\n"  # no run time
        "3 2 -1 5 -1 -1 -1 -1 20 -1 1 1 1 -1 1 1 -1 -1\n"  # no size
        "4 3 -1 5 4 -1 -1 4 20 -1 1 1 1 -1 1 1 -1 -1\n"  # 4 procs: too large for 2 nodes
        "5 4 -1 5 1 -1 -1 1 20 -1 1 1 1 -1 1 1 -1 -1\n"
    )
    out = tmp_path / "r"
    assert main(["replay", str(trace), "--nodes", "2", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "jobs 2: 2 finished" in text
    assert (
        "skipped 3 job(s) of the source: 1 no_run_time (no run time), "
        "1 no_size (no node count), 1 too_large (more nodes than the cluster)"
    ) in text
    assert json.loads((out / "run.json").read_text())["skipped"] == {
        "no_run_time": 1,
        "no_size": 1,
        "too_large": 1,
    }
