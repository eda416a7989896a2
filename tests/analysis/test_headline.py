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


def test_a_sum_in_pieces_does_not_depend_on_the_pieces():
    """Utilization adds node-seconds a row group at a time; the total is the same for
    any split (a run on disk and the same run in memory agree), and under one block it
    is numpy's sum."""
    import numpy as np

    from benchhub_sim.analysis.headline import SUM_BLOCK, BlockSum

    rng = np.random.default_rng(3)
    values = rng.lognormal(5, 4, 3 * SUM_BLOCK + 17)  # magnitudes over many decades
    totals = set()
    for cuts in ([], [1], [SUM_BLOCK], [5, SUM_BLOCK + 3, 2 * SUM_BLOCK + 9], range(0, len(values), 1000)):  # fmt: skip
        total = BlockSum()
        for piece in np.split(values, list(cuts)):
            total.add(piece)
        totals.add(total.total())
    assert len(totals) == 1
    assert totals.pop() == pytest.approx(math.fsum(values), rel=1e-12)
    small = BlockSum()
    small.add(values[:1000])
    assert small.total() == float(np.sum(values[:1000]))


def test_bindings_read_in_pieces_give_the_busy_time_of_all_at_once():
    """Job 1 (2 nodes, bound at 0, stops at 10), job 2 (bound at 10, stops at 15), a
    binding of a job not in the table (held to the end, 20), window 0-20."""
    import numpy as np

    from benchhub_sim.analysis.headline import bound_busy, held_of_bindings

    job_id, start, stop = np.array([2, 1]), np.array([10.0, 0.0]), np.array([15.0, 10.0])
    bound_job, bound_time = np.array([1, 1, 2, 9]), np.array([0.0, 0.0, 10.0, 18.0])
    expected = 10 + 10 + 5 + 2
    pieces = [(bound_job[:1], bound_time[:1]), (bound_job[1:], bound_time[1:])]
    assert bound_busy(job_id, start, stop, pieces, 20.0, (0.0, 20.0)) == expected
    starts, stops, _ = held_of_bindings(job_id, start, stop, bound_job, bound_time, 20.0)
    assert float(np.sum(stops - starts)) == expected
    # a started job without a binding: its nodes are known elsewhere
    assert bound_busy(job_id, start, stop, pieces[:1], 20.0, (0.0, 20.0)) is None
    assert bound_busy(job_id, start, stop, [], 20.0, (0.0, 20.0)) is None


def test_row_pieces_of_a_run_are_its_rows(runs):
    import pyarrow as pa

    for run in runs:
        pieces = list(run.row_pieces("assignments", ["job_id", "time"]))
        assert pa.concat_tables(pieces).equals(run.rows_table("assignments", ["job_id", "time"]))
