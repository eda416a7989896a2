"""How a run is written: the history hands rows over on time and size, each table is one
Parquet file written once, and a journal keeps a killed run readable."""

from __future__ import annotations

from benchhub_sim.store import History


def test_the_history_hands_rows_over_on_time_and_size_not_on_a_row_count():
    got: list[tuple[str, int]] = []
    h = History(lambda name, batch: got.append((name, batch.num_rows)), flush_rows=4)
    for i in range(100):
        h.job(float(i), i, "submit", "queued")
    assert got == []  # 25 batches of 4 rows made, none handed over: the run is young
    assert h.job_events().num_rows == 100 and got == []  # the caller's, not the sink's
    h = History(lambda name, batch: got.append((name, batch.num_rows)), flush_rows=4)
    h.flush_bytes = 1  # any batch made is enough to hand over
    for i in range(10):
        h.job(float(i), i, "submit", "queued")
    assert got == [("job_events", 4), ("job_events", 4)]
