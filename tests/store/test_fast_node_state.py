"""The node-state fast path does what the checked path does; the history watches the clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.cluster import Node
from benchhub_sim.errors import StoreError
from benchhub_sim.store import NODES_SCHEMA, History, Store
from benchhub_sim.store.nodes import NodeStore, job_state_of

STATES = ["idle", "running_job", "finding_central", "offline", "bogus", None]
JOB_STATES = [None, None, "running", "cleanup", "bogus"]
EVENTS = ["state", "state", "state", "fail", "recover", "deregister", "register"]


@settings(max_examples=examples(50), deadline=None)
@given(
    check=st.booleans(),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["n0", "n1", "n9"]),
            st.sampled_from(EVENTS),
            st.sampled_from(STATES),
            st.sampled_from(JOB_STATES),
            st.sampled_from([None, 3]),
        ),
        max_size=25,
    ),
)
def test_node_events_change_what_check_and_apply_change(check, steps):
    """Store.node (fast path for state events) against NodeStore.check + apply."""
    fast, slow = Store(History(), check=check), NodeStore()
    for n in ("n0", "n1"):
        fast.add_node(0.0, Node(n))
        slow.apply(0.0, n, "register", "idle", None, info=Node(n))
    for t, (node_id, event, state, job_state, job_id) in enumerate(steps, start=1):
        try:
            if check or state is None:
                want = slow.check(node_id, event, state, new_info=False)
            else:
                want = state
                if node_id not in slow.rows:
                    continue  # unchecked: an unknown node is the caller's bug
            if not check and event == "register":
                continue  # unchecked re-registration of a live node: undefined
            want_job_state = job_state_of(node_id, want, job_state)
        except StoreError as e:
            with pytest.raises(StoreError) as got:
                fast.node(float(t), node_id, event, state, job_id, job_state=job_state)
            assert str(got.value) == str(e)
            continue
        slow.apply(float(t), node_id, event, want, job_id, job_state=want_job_state)
        fast.node(float(t), node_id, event, state, job_id, job_state=job_state)
        assert fast.nodes.rows == slow.rows
        assert fast.nodes.deregistered == slow.deregistered
    events = fast.tables()["node_events"].to_pydict()
    assert events["seq"] == sorted(events["seq"])


def test_set_state_leaves_all_but_plainly_legal_state_events_to_the_check():
    s = NodeStore()
    s.apply(0.0, "n0", "register", "idle", None, info=Node("n0"))
    assert not s.set_state(1.0, "n9", "idle", None, None)  # not registered
    assert not s.set_state(1.0, "n0", "offline", None, None)  # offline only by fail / deregister
    assert not s.set_state(1.0, "n0", None, None, None)  # no state
    assert not s.set_state(1.0, "n0", "bogus", None, None)
    assert not s.set_state(1.0, "n0", "running_job", None, 3)  # a job state is needed
    assert not s.set_state(1.0, "n0", "running_job", "bogus", 3)
    assert not s.set_state(1.0, "n0", "idle", "cleanup", None)  # only while running a job
    assert s.state("n0") == "idle"
    assert s.set_state(1.5, "n0", "running_job", "cleanup", 3)
    assert (s.state("n0"), s.job_state("n0")) == ("running_job", "cleanup")
    live = s.rows["n0"]  # the columns up to job_id (the table adds the others)
    row = dict(zip(NODES_SCHEMA.names[: len(live)], live, strict=True))
    assert (row["job_id"], row["heartbeat"]) == (3, 1.5)
    s.apply(2.0, "n0", "fail", "offline", None)
    assert not s.set_state(2.0, "n0", "idle", None, None)  # offline
    s.apply(2.0, "n0", "recover", "idle", None)
    s.apply(3.0, "n0", "deregister", "offline", None)
    assert not s.set_state(3.0, "n0", "idle", None, None)  # deregistered
    assert s.state("n0") == "offline"


def test_a_checked_store_still_rejects_state_changes_of_offline_nodes():
    s = Store(History())
    s.add_node(0.0, Node("n0"))
    s.node(1.0, "n0", "fail", None)
    seq = s.history.seq
    with pytest.raises(StoreError, match="node n0: cannot change state to idle: state is offline"):
        s.node(2.0, "n0", "state", "idle")
    assert s.history.seq == seq and s.nodes.state("n0") == "offline"


# -- the history looks at the wall clock every 1024 buffered rows ----------------------


def test_history_flushes_on_time_every_1024_rows_of_a_table():
    got = []
    h = History(lambda name, batch: got.append((name, batch.num_rows)), flush_seconds=0.0)
    for i in range(1023):
        h.job(float(i), 1, "start", "running")
        h.node(float(i), "n0", "state", "idle")
    assert got == []  # flush_seconds passed, but the clock is read every 1024 rows
    h.job(1023.0, 1, "start", "running")
    assert got == [("job_events", 1024), ("node_events", 1023)]
    for i in range(1024):
        h.node(float(i), "n0", "state", "idle")
    assert got[-1] == ("node_events", 1024)
