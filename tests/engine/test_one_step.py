"""Simple jobs run in one step each way, and give exactly the tables of the step-by-step path.

The reference is the engine with ``one_step=False`` writing to a store with ``bulk=False``:
every event goes through ``Store.job`` / ``Store.node`` one at a time, as before the
one-step path existed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.engine.compiled import CompiledSpec, simple_stage
from benchhub_sim.engine.engine import Engine
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.model import (
    Duration,
    JobSpec,
    NodeAssignment,
    Selector,
    ShellPayload,
    Stage,
    Task,
)
from benchhub_sim.store import History, Store
from benchhub_sim.store.rows import canonical
from benchhub_sim.store.schema import TABLES
from benchhub_sim.workload.base import JobRequest

from .builders import no_units, one_task


def run_tables(
    cluster, requests, *, one_step, policy="fcfs", seed=0, faults=(), check=True, pack=1
):
    store = Store(History(flush_rows=64), check=check, bulk=one_step)
    engine = Engine(cluster, store, policy=policy, seed=seed, faults=faults, one_step=one_step,
                    max_loader_pack=pack)  # fmt: skip
    engine.run(sorted(requests, key=lambda r: r.submit))
    tables = store.tables()
    return {name: canonical(tables[name], TABLES[name]) for name in tables}, engine


def assert_same_tables(a, b):
    for name in TABLES:
        assert a[name].equals(b[name]), name


def two_stage(n: int) -> JobSpec:
    """Not simple: two pipelines."""
    task = Task("t", shell=ShellPayload("true"), duration=Duration.constant(1.0))
    stages = tuple(Stage(s, selectors=(Selector(all=True),), tasks=(task,)) for s in ("a", "b"))
    return JobSpec(
        f"two{n}", node_assignments=(NodeAssignment("w", count=n),), stages=stages, walltime=2.0
    )


def test_which_specs_are_simple():
    assert simple_stage(CompiledSpec(one_task(3, 2.0), walltime=2.0)) is not None
    assert simple_stage(CompiledSpec(two_stage(1), walltime=2.0)) is None
    for task in ({"fail_prob": 0.1}, {"timeout": 5.0}, {"background": True}):
        spec = one_task(1, 2.0, **task)
        assert simple_stage(CompiledSpec(spec, walltime=2.0)) is None, task


def test_a_simple_job_logs_the_step_by_step_events_in_order():
    """One 2-node job, by hand: the 2 starts, then the 2 ends, then the release."""
    cluster = Cluster.uniform(2)
    tables, engine = run_tables(cluster, [JobRequest(one_task(2, 5.0), 0.0)], one_step=True)
    events = tables["job_events"].select(["event", "node_id", "time"]).to_pylist()
    assert [(e["event"], e["node_id"]) for e in events] == [
        ("submit", None),
        ("assign", "node-0"), ("assign", "node-1"),
        ("start", None), ("pipeline_start", None),
        ("stage_start", "node-0"), ("stage_start", "node-1"),
        ("task_start", "node-0"), ("task_start", "node-1"),
        ("task_finish", "node-0"), ("stage_finish", "node-0"),
        ("task_finish", "node-1"), ("stage_finish", "node-1"),
        ("pipeline_finish", None), ("finish", None),
    ]  # fmt: skip
    assert [e["time"] for e in events][-1] == 5.0
    # one step each way: arrival, scheduling pass, end, pass after the release
    assert engine.loop.events_run == 4
    nodes = tables["node_events"].filter(pa.compute.field("event") == "state").to_pylist()
    assert [(r["node_id"], r["state"], r["job_state"]) for r in nodes] == [
        ("node-0", "running_job", "running"), ("node-1", "running_job", "running"),
        ("node-0", "running_job", "finished"), ("node-0", "running_job", "reporting"),
        ("node-0", "running_job", "cleanup"), ("node-0", "idle", None),
        ("node-1", "running_job", "finished"), ("node-1", "running_job", "reporting"),
        ("node-1", "running_job", "cleanup"), ("node-1", "idle", None),
    ]  # fmt: skip


def test_unequal_task_times_run_step_by_step():
    """A slow node makes one task end later: the job cannot end in one step."""
    cluster = Cluster([Node("a"), Node("b", speed=0.5)])
    reqs = [JobRequest(one_task(2, 2.0), 0.0)]
    fast, engine = run_tables(cluster, reqs, one_step=True)
    ref, _ = run_tables(cluster, reqs, one_step=False)
    assert_same_tables(fast, ref)
    tasks = fast["tasks"].sort_by("node_id").to_pylist()
    assert [t["stop_time"] for t in tasks] == [2.0, 4.0]


def test_a_node_failing_under_a_simple_job_aborts_it_as_step_by_step():
    cluster = Cluster.uniform(3)
    reqs = [JobRequest(one_task(3, 10.0), 0.0), JobRequest(one_task(1, 1.0), 1.0)]
    faults = [(4.0, "node-1", 2.0)]
    fast, _ = run_tables(cluster, reqs, one_step=True, faults=faults)
    ref, _ = run_tables(cluster, reqs, one_step=False, faults=faults)
    assert_same_tables(fast, ref)
    jobs = fast["jobs"].to_pylist()
    assert [j["status"] for j in jobs] == ["aborted", "finished"]
    assert jobs[0]["stop_time"] == 4.0
    # the second job waits for the aborted one's nodes (fcfs, 3 nodes busy until 4)
    assert jobs[1]["start_time"] == 4.0


@st.composite
def scenarios(draw):
    n_nodes = draw(st.integers(2, 6))
    speeds = draw(st.lists(st.sampled_from([1.0, 1.0, 2.0]), min_size=n_nodes, max_size=n_nodes))
    # some nodes take time to report and clean up after a job (and may fail meanwhile)
    after = draw(
        st.lists(st.sampled_from([0.0, 0.0, 0.5, 2.0]), min_size=n_nodes, max_size=n_nodes)
    )
    cluster = Cluster(
        [Node(f"n{i}", speed=s, cleanup_time=c, reporting_time=c / 2)
         for i, (s, c) in enumerate(zip(speeds, after, strict=True))]
    )  # fmt: skip
    kinds = [
        one_task(1, Duration.of("exponential", mean=2.0), walltime=3.0, name="exp1"),
        one_task(2, 1.0, name="const2"),
        one_task(
            min(3, n_nodes), Duration.of("uniform", low=1.0, high=3.0), walltime=3.0, name="unif3"
        ),
        one_task(2, 1.0, name="failing", fail_prob=0.3, retries=1),
        two_stage(min(2, n_nodes)),
        one_task(2, 0.0, name="zero2"),  # ends at its start, in an event of its own
        no_units(min(2, n_nodes)),  # nothing to run
        one_task(n_nodes + 1, 1.0, name="too-big"),  # never fits
    ]
    reqs = []
    t = 0.0
    for _ in range(draw(st.integers(1, 25))):
        t += draw(st.sampled_from([0.0, 0.5, 1.0]))
        reqs.append(JobRequest(kinds[draw(st.integers(0, len(kinds) - 1))], t))
    faults = [
        (
            float(draw(st.integers(0, 20))),
            f"n{draw(st.integers(0, n_nodes - 1))}",
            float(draw(st.integers(0, 5))),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    return cluster, reqs, faults


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenarios(),
    st.sampled_from(["fcfs", "easy", "conservative", "sjf"]),
    st.integers(0, 3),
    st.booleans(),
)
def test_one_step_and_step_by_step_give_the_same_tables(scenario, policy, seed, check):
    cluster, reqs, faults = scenario
    fast, _ = run_tables(
        cluster, reqs, one_step=True, policy=policy, seed=seed, faults=faults, check=check
    )
    ref, _ = run_tables(
        cluster, reqs, one_step=False, policy=policy, seed=seed, faults=faults, check=check
    )
    assert_same_tables(fast, ref)


@pytest.mark.filterwarnings(
    "ignore:simulate\\(.*deprecated:DeprecationWarning"
)  # the whole pipeline, switch on
def test_observed_durations_write_the_same_files_either_way(tmp_path):
    """Jobs with recorded durations (a replay's, one per job on every node: simple) and
    jobs with drawn ones (per slot, unequal: step by step), in a run directory."""
    drawn = one_task(2, Duration.of("exponential", mean=3.0), walltime=5.0, name="drawn")
    observed = one_task(2, Duration.of("exponential", mean=3.0), walltime=5.0, name="seen")
    reqs = [
        JobRequest(drawn, float(i))
        if i % 2
        else JobRequest(observed, float(i), durations={("run", "*", "t"): 1.0 + i % 5})
        for i in range(30)
    ]
    (fast, fast_events), (ref, ref_events) = _files_either_way(tmp_path, reqs, nodes=4, seed=7)
    assert fast == ref
    # the 15 jobs with recorded durations ran in one step: their two task ends (one
    # loop event per node) became one end event
    assert ref_events - fast_events == 15


@pytest.mark.filterwarnings(
    "ignore:simulate\\(.*deprecated:DeprecationWarning"
)  # the whole pipeline, switch on
def test_simple_and_other_jobs_write_the_same_files_either_way(tmp_path):
    """A run directory of simple jobs and two-stage jobs: the final tables gather rows
    from both kinds row group by row group, in the same order as the step-by-step path."""
    kinds = [
        one_task(1, Duration.of("exponential", mean=2.0), walltime=3.0, name="exp"),
        one_task(2, 1.5, name="const"),
        two_stage(1),
    ]
    reqs = [JobRequest(kinds[i % 3], 0.5 * i) for i in range(60)]
    (fast, fast_events), (ref, ref_events) = _files_either_way(tmp_path, reqs, nodes=3, seed=3)
    assert fast == ref
    assert fast_events < ref_events  # the one-task jobs did run in one step


def _files_either_way(tmp_path: Path, reqs, *, nodes: int, seed: int) -> list[tuple[dict, int]]:
    """(sha256 of each Parquet file, loop events run), one step then step by step."""
    names = ("jobs", "stages", "tasks", "job_events", "node_events")
    out = []
    for one_step in (True, False):
        path = tmp_path / f"run-{one_step}"
        run = simulate(nodes, reqs, seed=seed, out=path, policy="easy", one_step=one_step)
        digests = {
            n: hashlib.sha256((path / f"{n}.parquet").read_bytes()).hexdigest() for n in names
        }
        out.append((digests, run.meta["events"]))
    return out
