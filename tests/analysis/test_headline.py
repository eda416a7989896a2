"""The summary line's numbers, read from Arrow columns without pandas."""

from __future__ import annotations

import math

import pytest

from benchhub_sim.analysis.headline import headline
from benchhub_sim.analysis.metrics import summary
from benchhub_sim.replay import replay
from benchhub_sim.store import Run
from benchhub_sim.workload.swf import read_swf

# 2 nodes, FCFS: job 1 holds both 0-10; jobs 2 and 3 start at 10 and end at 15 and 14;
# job 4 (no run time) is skipped
TRACE = """\
; MaxProcs: 2
1 0 -1 10 2 -1 -1 2 10 -1 1 1 1 -1 1 1 -1 -1
2 1 -1 5 1 -1 -1 1 5 -1 1 1 1 -1 1 1 -1 -1
3 2 -1 4 1 -1 -1 1 4 -1 1 1 1 -1 1 1 -1 -1
4 3 -1 -1 1 -1 -1 1 4 -1 1 1 1 -1 1 1 -1 -1
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    path = tmp_path_factory.mktemp("headline") / "t.swf"
    path.write_text(TRACE)
    out = path.parent / "run"
    return replay(read_swf(path), policy="fcfs"), replay(str(path), policy="fcfs", out=out)


def test_headline_by_hand(runs):
    for run in runs:
        h = headline(run)
        assert h is not None
        assert (h["jobs"], h["finished"], h["aborted"], h["unfinished"]) == (3, 3, 0, 0)
        assert h["makespan_s"] == 15.0  # last stop 15 - first submit 0
        assert h["mean_wait_s"] == pytest.approx((0 + 9 + 8) / 3, rel=1e-15)
        # busy node-seconds 2 x 10 + 5 + 4 over 2 nodes x 15 s
        assert h["utilization"] == pytest.approx(29 / 30, rel=1e-15)


def test_headline_equals_summary(runs):
    for run in runs:
        h, s = headline(run), summary(run)
        assert h == {k: s[k] for k in h}


def test_headline_leaves_a_run_that_may_pack_loaders_to_summary(runs):
    run = runs[0]
    assert headline(Run(run.tables, {**run.meta, "max_loader_pack": None})) is None
    assert headline(run.jobs) is None  # not a Run


def test_headline_of_a_run_without_jobs():
    h = headline(Run({}, {"max_loader_pack": 1}))
    assert h is not None and h["jobs"] == 0
    assert math.isnan(h["makespan_s"]) and math.isnan(h["utilization"])
