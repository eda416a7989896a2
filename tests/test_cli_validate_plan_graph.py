"""``benchhub-sim validate | plan | graph``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchhub_sim.cli import main

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / ".." / "shared" / "reference" / "benchhub"
CLUSTERS = REPO / "data" / "clusters"


def reference(name: str) -> str:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"BenchHub reference files not available ({REFERENCE})")
    return str(path)


def test_validate_accepts_both_benchhub_specs(capsys):
    pingpong, xephon = reference("pingpong.yml"), reference("xephonb-kairosdb.yml")
    assert main(["validate", pingpong, xephon]) == 0
    out, err = capsys.readouterr()
    # counted by hand from the two files (xephonb: 3 + 3 + 3 + 1 + 1 + 1 + 1 tasks)
    assert out.splitlines() == [
        f"{pingpong}: ok: pingpong (nodeAssignments): "
        "2 assignments, 3 pipelines, 4 stages, 4 tasks",
        f"{xephon}: ok: xephonk-kariosdb (nodes): 3 assignments, 5 pipelines, 7 stages, 13 tasks",
    ]
    assert err == ""


#: the three misspellings found in BenchHub's own files, on lines 6, 12 and 14
BAD = """\
name: bad
nodeAssignments:
  - properties: {name: srv, role: database}
stages:
  - name: s
    selelectors: [{name: srv}]
    tasks:
      - driver: docker
        docker:
          image: x
          action: pull
          port: [{guest: 1, host: 1}]
  - name: t
    takss: []
"""


def test_validate_reports_every_problem_and_checks_every_file(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    missing = tmp_path / "missing.yml"
    good = reference("pingpong.yml")
    assert main(["validate", str(bad), good, str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{good}: ok: pingpong (nodeAssignments): 2 assignments, 3 pipelines, 4 stages, 4 tasks"
    ]
    lines = err.splitlines()
    for problem in (
        f"{bad}:6: stages[0].selelectors: unknown key (did you mean 'selectors'?)",
        f"{bad}:12: stages[0].tasks[0].docker.port: unknown key (did you mean 'ports'?)",
        f"{bad}:14: stages[1].takss: unknown key (did you mean 'tasks'?)",
    ):
        assert problem in lines
    assert any(line.startswith(str(missing)) for line in lines)
    assert all(line.startswith(str(tmp_path)) for line in lines)
    assert "Traceback" not in err


def test_plan_json_is_the_planner_structure(capsys):
    from benchhub_sim.cluster import load_cluster
    from benchhub_sim.plan import plan_job
    from benchhub_sim.spec.load import load_spec

    spec, nodes = reference("pingpong.yml"), reference("nodes_1l1d.yml")
    assert main(["plan", spec, "--cluster", nodes, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == plan_job(load_spec(spec), load_cluster(nodes)).to_dict()
    # the parts the issue spells out (the whole structure is checked in test_plan.py)
    assert data["job"] == "pingpong"
    assert data["assignments"][0] == {
        "name": "srv",
        "role": "database",
        "node_id": "id-database",
        "match": "exact",
    }
    assert [
        [(s["name"], s["background"], [n["node_id"] for n in s["nodes"]]) for s in p["stages"]]
        for p in data["pipelines"]
    ] == [
        [("download_client", False, ["id-loader"]), ("download_server", False, ["id-database"])],
        [("start_server", True, ["id-database"])],
        [("ping_server", False, ["id-loader"])],
    ]
    ping = data["pipelines"][2]["stages"][0]["nodes"][0]["task_pipelines"][0]
    assert ping == {
        "name": "autogen-0",
        "tasks": [
            {
                "name": "task-0",
                "driver": "shell",
                "command": "pingclient http://id-database:8080",
                "background": False,
            }
        ],
    }


def test_plan_text_is_the_default(capsys):
    spec, nodes = reference("pingpong.yml"), reference("nodes_1l1d.yml")
    assert main(["plan", spec, "--cluster", nodes]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "job pingpong"
    assert "        task-0 [shell] pingclient http://id-database:8080" in out


def test_plan_on_a_cluster_too_small(tmp_path, capsys):
    cluster = tmp_path / "one.yml"
    cluster.write_text("nodes: [{id: only, role: loader}]\n")
    assert main(["plan", reference("pingpong.yml"), "--cluster", str(cluster)]) == 2
    err = capsys.readouterr().err
    assert "'srv'" in err and "Traceback" not in err


def test_plan_with_a_bad_cluster_file(tmp_path, capsys):
    cluster = tmp_path / "bad.yml"
    cluster.write_text("nodes:\n  - id: a\n    cores: -2\n")
    assert main(["plan", reference("pingpong.yml"), "--cluster", str(cluster)]) == 2
    assert f"{cluster}:3: nodes[0].cores: must be positive, found -2" in capsys.readouterr().err


def test_plan_on_the_shipped_small_cluster(capsys):
    xephon = reference("xephonb-kairosdb.yml")
    assert main(["plan", xephon, "--cluster", str(CLUSTERS / "small.yml"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(a["name"], a["node_id"]) for a in data["assignments"]] == [
        ("db", "db"),
        ("loader1", "loader-0"),
        ("loader2", "loader-1"),
    ]
    load = data["pipelines"][4]["stages"][0]
    # both loaders run the load, aimed at the database's ip from small.yml
    assert [n["node_id"] for n in load["nodes"]] == ["loader-0", "loader-1"]
    commands = {n["task_pipelines"][0]["tasks"][0]["command"] for n in load["nodes"]}
    assert commands == {"xb load --type=kairosdb --target=10.0.0.10:8080"}


def test_graph_writes_png_and_svg(tmp_path, capsys):
    png, svg = tmp_path / "g.png", tmp_path / "g.svg"
    assert main(["graph", reference("pingpong.yml"), "-o", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 1000
    assert main(["graph", reference("xephonb-kairosdb.yml"), "-o", str(svg), "--tasks"]) == 0
    assert "<svg" in svg.read_text()
    assert capsys.readouterr().out.splitlines() == [f"wrote {png}", f"wrote {svg}"]


def test_graph_rejects_an_unknown_image_format(tmp_path, capsys):
    out = tmp_path / "g.unknown"
    assert main(["graph", reference("pingpong.yml"), "-o", str(out)]) == 2
    assert not out.exists()
    assert "expected one of" in capsys.readouterr().err
