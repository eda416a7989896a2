"""Live rows and planned events are named from the schemas they are written in."""

from __future__ import annotations

import inspect

from benchhub_sim.store import jobs
from benchhub_sim.store.history import History
from benchhub_sim.store.schema import (
    JOB_EVENTS_SCHEMA,
    JOBS_SCHEMA,
    STAGE_PIPELINES_SCHEMA,
    STAGES_SCHEMA,
    TASKS_SCHEMA,
)
from benchhub_sim.store.store import Store


def test_a_planned_event_has_the_job_events_columns_after_seq():
    assert JOB_EVENTS_SCHEMA.names[0] == "seq"
    assert list(jobs.JobEvent._fields) == JOB_EVENTS_SCHEMA.names[1:]
    # the hot path's plain tuples are History.job's and Store.job's arguments, in order
    for job in (History.job, Store.job):
        assert list(inspect.signature(job).parameters)[1:] == JOB_EVENTS_SCHEMA.names[1:]


def test_the_positions_are_the_schemas():
    for prefix, schema in (("J", JOBS_SCHEMA), ("S", STAGES_SCHEMA), ("T", TASKS_SCHEMA),
                           ("P", STAGE_PIPELINES_SCHEMA)):  # fmt: skip
        named = getattr(jobs, prefix)
        assert [getattr(named, name) for name in schema.names] == list(range(len(schema)))
    assert (jobs.J_STATUS, jobs.J_FIN, jobs.S_NODE, jobs.T_ATTEMPT, jobs.P_STOP) == (5, 12, 4, 9, 5)
    assert (jobs.E_EVENT, jobs.E_DETAIL, jobs.E_CMD) == (2, 15, 18)
    # the rows the job store makes have one value per column
    srow = jobs.new_stage_row(1, 0, 0, "s", "n0", "w", False, "running", 0.0)
    trow = jobs.new_task_row(1, 0, 0, "s", "n0", "w", 0, "t", "shell", 0, False, "running")
    assert (len(srow), len(trow)) == (len(STAGES_SCHEMA), len(TASKS_SCHEMA))
    assert (srow[jobs.S_NODE], trow[jobs.T_TNAME], trow[jobs.T_STATUS]) == ("n0", "t", "running")
