"""One set of input rules for the command line, Python and sweeps (issue 12 §5).

Each case was accepted before (exit 0 with NaN metrics, the trace's own size labelled
``nodes=0``, one silent job, an AttributeError from deep inside); each is now refused
with the same sentence wherever the value is given.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from engine.builders import one_task  # tests/ is on the path (tests/conftest.py)

import benchhub_sim as bh
from benchhub_sim.cli import main
from benchhub_sim.errors import (
    ClusterError,
    ScheduleError,
    StoreError,
    UsageError,
    WorkloadError,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SPEC = str(DATA / "specs" / "exp-task.yml")
TRACE = str(DATA / "traces" / "synthetic.swf")


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command; it must exit 2; return what it printed on stderr."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses an option's value
        code = exc.code
    assert code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--nodes", "0", "--spec", SPEC], "--nodes: expected a whole number >= 1"),
        (["simulate", "--nodes", "-4", "--spec", SPEC], "found -4"),
        (["simulate", "--nodes", "2", "--spec", SPEC, "--count", "0"], "--count: expected"),
        (["simulate", "--nodes", "2", "--spec", SPEC, "--count", "-3"], "found -3"),
        (
            ["simulate", "--nodes", "2", "--spec", SPEC, "--arrivals", "poisson:0.5"],
            "needs --count N",
        ),
        (["replay", TRACE, "--nodes", "0", "--out", "x"], "--nodes: expected a whole number"),
        (["sweep", "--workload", TRACE, "--nodes", "0,8", "--out", "x"], "'0,8': expected"),
        (["sweep", "--workload", TRACE, "--policies", "fcfs,nope", "--out", "x"], "fcfs, easy"),
        (["simulate", "--nodes", "2", "--spec", SPEC, "--policy", "fifo"], "choose one of fcfs"),
    ],
)
def test_the_command_refuses_bad_numbers_and_names(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written: an --out x would land here
    assert message in _refused(argv, capsys)
    assert list(tmp_path.iterdir()) == []


def test_python_refuses_the_same_values_with_the_same_sentences(tmp_path):
    spec = one_task(1, 2.0)
    with pytest.raises(ClusterError, match="nodes: expected a whole number >= 1, found 0"):
        bh.simulate(0, spec)
    with pytest.raises(ClusterError, match="found -4"):
        bh.simulate(-4, spec, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()
    with pytest.raises(WorkloadError, match="nodes: expected a whole number >= 1, found 0"):
        bh.replay(TRACE, nodes=0)  # before: the trace's own 32 nodes
    with pytest.raises(WorkloadError, match=r"grid\['nodes'\]: expected a whole number >= 1"):
        bh.sweep(TRACE, {"nodes": [0, 8]}, out=tmp_path / "s")
    assert not (tmp_path / "s").exists()
    for bad in ({"count": None}, {"count": 0}, {"rate": 0.0}, {"rate": float("inf")}):
        args = {"rate": 1.0, "count": 3, **bad}
        with pytest.raises(WorkloadError, match=f"poisson_arrivals: {next(iter(bad))}: expected"):
            bh.poisson_arrivals(spec, **args)
    with pytest.raises(WorkloadError, match="fixed_arrivals: count") as err:
        bh.fixed_arrivals(spec, count=0, every=-1)
    assert "every: expected a finite number >= 0, found -1" in str(err.value)  # both at once


def test_policies_are_named_in_every_error():
    spec = one_task(1, 2.0)
    with pytest.raises(ScheduleError, match="choose one of fcfs, easy, conservative, sjf"):
        bh.simulate(2, spec, policy="nope")

    def no_view():
        pass

    with pytest.raises(ScheduleError, match=r"policy no_view\(\): a policy is called as"):
        bh.simulate(2, spec, policy=no_view)

    def picky(view):
        for job in view.queued():
            if view.now > 0:
                raise KeyError("no such key")
            view.try_start(job)

    # jobs 0, 1 start at t=0 on the two nodes; job 2 waits at the head of the queue until
    # they end at t=2, when the policy runs again and raises
    with pytest.raises(ScheduleError) as err:
        bh.simulate(2, [spec, spec, spec], policy=picky)
    assert str(err.value) == (
        "policy picky raised KeyError: 'no such key' (at t=2 s, job 2 at the head of 1 queued)"
    )
    assert isinstance(err.value.__cause__, KeyError)


def test_api_misuse_gets_a_sentence_not_an_attribute_error():
    spec = one_task(1, 2.0)
    with pytest.raises(WorkloadError, match=r"workload\[0\]: expected a JobRequest"):
        bh.simulate(2, [1, 2, 3])
    with pytest.raises(UsageError, match="workload: expected job requests"):
        bh.simulate(2, 5)
    with pytest.raises(UsageError, match="cluster: expected a Cluster, a number of nodes"):
        bh.simulate(None, spec)
    with pytest.raises(UsageError, match="expected a run"):
        bh.summary({})
    run = bh.simulate(2, spec)
    with pytest.raises(StoreError, match="job 99999: no such job in this run") as timeline:
        bh.plot_job_timeline(run, 99999)
    with pytest.raises(StoreError) as detail:
        bh.job_detail(run, 99999)
    assert str(timeline.value) == str(detail.value)
    with pytest.raises(UsageError, match="seed: expected a whole number >= 0"):
        bh.simulate(2, spec, seed=-1)


def test_the_command_prints_a_warning_as_one_line(tmp_path, capsys):
    """Before: Python's ``file:line: UserWarning: ...`` with the source line under it."""
    run_dir = tmp_path / "r"
    bh.simulate(2, one_task(1, 2.0), out=run_dir)
    meta = run_dir / "run.json"
    meta.write_text(meta.read_text().replace('"complete": true', '"complete": false'))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["compare", str(run_dir)]) == 0
    err = capsys.readouterr().err
    assert re.fullmatch(r"warning: .*r: the run is incomplete \(it did not finish\); [^\n]*\n", err)
