"""Every object a notebook shows: a repr of a line or a few, and an HTML display."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import benchhub_sim as bh

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"


@pytest.fixture(scope="module")
def spec():
    return bh.load_spec(DATA / "specs" / "db-loaders.yml")


@pytest.fixture(scope="module")
def run(spec):
    cluster = bh.load_cluster(DATA / "clusters" / "small.yml")
    return bh.simulate(cluster, bh.fixed_arrivals(spec, every=100.0, count=3), seed=1)


def _short(text: str, lines: int = 3, width: int = 200) -> bool:
    return len(text.splitlines()) <= lines and all(len(x) <= width for x in text.splitlines())


def test_spec(spec):
    # 2 assignments (db, loaders x 3): 4 nodes; 4 pipelines, 5 stages, 6 tasks
    assert (
        repr(spec)
        == "<JobSpec db-loaders: 2 assignments (4 nodes), 4 pipelines, 5 stages, 6 tasks>"
    )
    html = spec._repr_html_()
    # one row per task, in run order, with the roles of the nodes a stage runs on
    assert html.count("<tr>") == 1 + 6
    assert "run_db (background)" in html
    assert "db (database)" in html and "loaders (loader)" in html and "stop run_db" in html
    assert ">tar xzf loadgen-1.2.tar.gz<" in html  # an exec task: its argv, as a shell shows it


def test_plan_grid(spec):
    plan = bh.plan_job(spec, bh.load_cluster(DATA / "clusters" / "small.yml"))
    assert repr(plan) == "<Plan db-loaders: 4 nodes, 4 pipelines, 5 stages, 12 tasks on nodes>"
    header, *rows = plan.grid()
    assert header[:4] == ("slot", "role", "node", "install/install_db")
    # the database slot runs pull, server, stop; every loader slot download+unpack, write
    assert rows[0] == ("db", "database", "db (exact)", "pull", "", "server", "", "stop")
    assert [r[4] for r in rows[1:]] == ["download, unpack"] * 3
    assert plan._repr_html_().count("<tr>") == 1 + 4


def test_run_and_store(run):
    text = repr(run)
    assert _short(text, 1)
    assert text.startswith("<Run: fcfs on small (4 nodes), 3 jobs (")
    html = run._repr_html_()
    for part in ("policy", "fcfs", "small (4 nodes)", "seed 1", "versions", "bh.summary(run)"):
        assert part in html
    store = bh.Store()
    assert repr(store) == "<Store: 0 nodes (none), 0 jobs (none), 0 events>"
    assert "<table>" in store._repr_html_()


def test_run_flags_what_did_not_finish(run):
    stalled = bh.Run(
        run.tables,
        {
            **run.meta,
            "stalled": {
                "count": 2,
                "queued": 2,
                "running": 0,
                "job_ids": [4, 5],
                "reason": "no node can take them",
            },
        },  # fmt: skip
    )
    text = repr(stalled)
    assert (
        "[STALLED: 2 job(s) never ended (2 queued, 0 running; job ids 4, 5): no node can take them]"
        in text
    )
    assert "STALLED" in stalled._repr_html_()
    incomplete = bh.Run(run.tables, run.meta, complete=False)
    assert "[INCOMPLETE]" in repr(incomplete)


def test_job_detail_parts_are_dataframes(run):
    detail = bh.job_detail(run, 0)
    assert isinstance(detail.stages, pd.DataFrame) and isinstance(detail.tasks, pd.DataFrame)
    assert isinstance(detail.nodes, pd.DataFrame) and isinstance(detail.job, pd.Series)
    assert detail.nodes["node_name"].tolist() == ["db", "loaders-0", "loaders-1", "loaders-2"]
    # 5 stages: install_db on db, install_loader on 3 loaders, run_db, load on 3, stop_db
    assert len(detail.stages) == 1 + 3 + 1 + 3 + 1
    assert detail.pipelines["pipeline"].tolist() == [0, 1, 2, 3]
    text, html = repr(detail), detail._repr_html_()
    assert _short(text, 1, 300) and text.startswith("<JobDetail job 0 db-loaders: finished")
    raw = detail.job["raw_spec"]
    assert raw and raw not in text and raw not in html  # the display does not dump the spec
    assert html.count("<tr>") == 1 + 9
    assert detail.to_dict()["pipelines"][0]["stages"][0]["stage_name"] == "install_db"


def test_execute_is_exported():
    from benchhub_sim.execute import execute

    assert bh.execute is execute and callable(bh.execute)
    assert "execute" in bh.__all__


def test_import_stays_light():
    import subprocess
    import sys

    code = "import sys, benchhub_sim; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
