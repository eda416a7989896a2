"""What an agent observes (metrics, snapshots, results) and what its keeper guarantees."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from benchhub_sim.engine.observe import ResultsFile, parse_result
from benchhub_sim.engine.procs import Keeper, group_alive
from benchhub_sim.execute import execute

from .test_local import one_row, processes_of

pytestmark = pytest.mark.skipif(
    shutil.which("python3") is None or not Path("/proc/self/environ").exists(),
    reason="needs python3 and Linux /proc",
)


def test_the_keeper_kills_what_is_left_when_its_agent_goes(tmp_path):
    marker = f"BENCHHUB_AGENT_ID={uuid.uuid4().hex}"
    keeper = Keeper(marker, tmp_path)
    group = subprocess.Popen(["sleep", "60"], start_new_session=True)
    name, value = marker.split("=")
    stray = subprocess.Popen(["sleep", "60"], env={name: value}, start_new_session=True)
    keeper.tell(f"+g {group.pid}")
    assert keeper.popen is not None
    keeper.popen.stdin.close()  # what the agent's death does: end of file
    keeper.popen.wait(10)
    for p in (group, stray):  # the group it was told of, and whatever carries the marker
        assert p.wait(5) == -9
    assert not group_alive(group.pid)


def test_a_result_line_is_name_value_unit_and_a_bad_one_is_named():
    assert parse_result(b'{"name": "tps", "value": 120}') == (("tps", 120.0, None, None), "")
    assert parse_result(b'{"name": "t", "value": 1, "time": 1.7e9}')[0] == ("t", 1.0, None, 1.7e9)
    assert parse_result(b"[1, 2]")[1] == "expected a JSON object, found list"
    assert (
        parse_result(b'{"name": "", "value": 1}')[1]
        == "name: expected a non-empty string, found ''"
    )
    assert (
        parse_result(b'{"name": "x", "value": true}')[1] == "value: expected a number, found True"
    )
    assert parse_result(b'{"name": "x", "valu": 1}')[1].startswith("unknown key 'valu'")
    assert parse_result(b"{oops")[1].startswith("not a JSON object: ")


def test_a_results_file_is_read_line_by_line_as_it_grows(tmp_path):
    path = tmp_path / "r.jsonl"
    f = ResultsFile(path, "logs/0/w/s.t.0.results.jsonl")
    assert f.read() == ([], [])  # nothing written yet
    path.write_text('{"name": "a", "value": 1}\n{"name": "b", "val')
    assert f.read() == ([("a", 1.0, None, None)], [])  # the half line waits
    with open(path, "a") as out:
        out.write('ue": 2}\nnot json\n')
    rows, problems = f.read(final=True)
    assert rows == [("b", 2.0, None, None)]
    assert problems == ["logs/0/w/s.t.0.results.jsonl:3: not a JSON object: "
                        "Expecting value: line 1 column 1 (char 0)"]  # fmt: skip


OBSERVED = """
name: observed
nodeAssignments: [{properties: {name: w}}]
stages:
  - name: work
    selectors: [{all: true}]
    tasks:
      - name: hog
        exec:
          command:
            - python3
            - -c
            - |
              import json, os, time
              block = bytearray(80 * 2**20)  # 80 MiB, touched: resident
              end = time.time() + 0.6
              while time.time() < end:
                  pass
              with open(os.environ["BENCHHUB_RESULTS"], "a") as f:
                  f.write(json.dumps({"name": "ops", "value": 42, "unit": "op/s"}) + "\\n")
                  f.write("garbage\\n")
"""


def test_metrics_snapshots_and_results_of_a_task(tmp_path):
    (tmp_path / "spec.yml").write_text(textwrap.dedent(OBSERVED))
    run_id = uuid.uuid4().hex
    with pytest.warns(UserWarning, match="1 result line"):
        run = execute(None, tmp_path / "spec.yml", out=tmp_path / "run", run_id=run_id,
                      metrics_interval=0.1)  # fmt: skip
    assert processes_of(run_id) == []
    m = run.metrics
    task = m[(m["task_name"] == "hog") & (m["kind"] == "sample")]
    rss = task.loc[task["metric"] == "rss_bytes", "value"]
    assert len(rss) >= 3 and rss.max() >= 80 * 2**20  # the bytearray is in the tree's RSS
    assert task.loc[task["metric"] == "cpu_percent", "value"].max() > 20  # a busy loop
    assert set(task["unit"].dropna()) == {"%", "B"}
    node = m[m["job_id"].isna()]
    assert set(node["metric"]) >= {"cpu_percent", "mem_used_bytes"}
    # a snapshot before and after the job, the stage and the task, each at its own time
    snaps = m[m["metric"] == "load1"]
    for scope in ({"stage_name": None}, {"stage_name": "work", "task_name": None},
                  {"task_name": "hog"}):  # fmt: skip
        rows = snaps
        for col, value in scope.items():
            rows = rows[rows[col].isna()] if value is None else rows[rows[col] == value]
        assert sorted(rows["kind"]) == ["after", "before"], scope
    t = one_row(run.tasks, task_name="hog")
    hog = snaps[snaps["task_name"] == "hog"].set_index("kind")["time"]
    assert hog["before"] == pytest.approx(t["start_time"], abs=0.05)
    assert hog["after"] == pytest.approx(t["stop_time"], abs=0.05)
    # the result, and the line that was not one
    r = one_row(run.results, name="ops")
    assert (r["value"], r["unit"], r["task_name"], r["node_id"]) == (42.0, "op/s", "hog", "local-0")
    assert t["start_time"] < r["time"] <= t["stop_time"] + 0.05
    rejected = run.meta["results_rejected"]
    assert rejected["count"] == 1
    assert rejected["first"][0].startswith("logs/0/w/work.hog.0.results.jsonl:2: not a JSON object")


def test_no_metrics_when_the_interval_is_none(tmp_path):
    (tmp_path / "spec.yml").write_text(
        "name: quiet\nnodeAssignments: [{properties: {name: w}}]\n"
        "stages: [{name: s, selectors: [{all: true}], tasks: [{name: t, shell: {command: 'true'}}]}]\n"
    )
    run = execute(None, tmp_path / "spec.yml", out=tmp_path / "run", metrics_interval=None)
    assert run.has_table("metrics") and run.metrics.empty
    assert time.time() - run.meta["epoch"] < 600
