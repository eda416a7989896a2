"""Batch mode runs uniform simple workloads in one loop and gives the general loop's tables.

The reference is the same engine with ``batch=False``: every arrival, pass and
completion an event of the loop, every job started and ended through the store. Each
test also checks that batch mode did run (``engine.batch_jobs``), so that a change
that quietly turns it off cannot pass as "same tables".
"""

from __future__ import annotations

import hashlib
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.engine.engine import Engine
from benchhub_sim.errors import StoreError, WorkloadError
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.model import Duration
from benchhub_sim.store import History, Store
from benchhub_sim.store.bulk import BulkLog
from benchhub_sim.store.rows import canonical
from benchhub_sim.store.schema import TABLES
from benchhub_sim.workload.arrivals import poisson_arrivals
from benchhub_sim.workload.base import JobRequest

from .builders import no_units, one_task
from .test_one_step import assert_same_tables, two_stage


def run(
    cluster, requests, *, use_batch, policy="fcfs", seed=0, check=True, flush_rows=64, hook=None
):
    store = Store(History(flush_rows=flush_rows), check=check)
    engine = Engine(cluster, store, policy=policy, seed=seed, batch=use_batch)
    if hook is not None:
        engine.central.on_job_end = hook
    engine.run(requests)
    tables = store.tables()
    return {name: canonical(tables[name], TABLES[name]) for name in tables}, engine


def both(cluster, requests, **kw):
    """Tables and engines with and without batch mode; asserts they agree."""
    fast, fast_engine = run(cluster, list(requests), use_batch=True, **kw)
    ref, ref_engine = run(cluster, list(requests), use_batch=False, **kw)
    assert_same_tables(fast, ref)
    assert fast_engine.loop.now == ref_engine.loop.now
    assert fast_engine.loop.events_run == ref_engine.loop.events_run
    assert ref_engine.batch_jobs == 0
    return fast, fast_engine


def test_fcfs_multi_node_jobs_by_hand():
    """3 nodes. A (2 nodes, 4 s) at 0; B (2 nodes, 1 s) and C (1 node, 1 s) at 1.
    fcfs: B does not fit at 1 (one node free) and C waits behind it; A ends at 4, then
    B takes nodes 0 and 1, C node 2; both end at 5."""
    reqs = [
        JobRequest(one_task(2, 4.0, name="A"), 0.0),
        JobRequest(one_task(2, 1.0, name="B"), 1.0),
        JobRequest(one_task(1, 1.0, name="C"), 1.0),
    ]
    tables, engine = both(Cluster.uniform(3), reqs)
    assert engine.batch_jobs == 3
    jobs = tables["jobs"].select(["name", "start_time", "stop_time"]).to_pylist()
    assert [(j["name"], j["start_time"], j["stop_time"]) for j in jobs] == [
        ("A", 0.0, 4.0), ("B", 4.0, 5.0), ("C", 4.0, 5.0),
    ]  # fmt: skip
    nodes = {
        (t["job_id"], t["node_id"])
        for t in tables["tasks"].select(["job_id", "node_id"]).to_pylist()
    }
    assert nodes == {(0, "node-0"), (0, "node-1"), (1, "node-0"), (1, "node-1"), (2, "node-2")}


def test_ties_zero_durations_and_arrivals_at_a_completion():
    """Integer times make arrivals, completions and passes meet at one instant; zero
    durations end a job at the instant it starts (its end comes after the pass)."""
    reqs = [
        JobRequest(one_task(1, float(i % 3), name=f"d{i % 3}"), float(i // 2)) for i in range(40)
    ]
    _, engine = both(Cluster.uniform(2), reqs)
    assert engine.batch_jobs == 40


def test_explicit_job_ids_and_the_progress_hook():
    seen = []
    reqs = [JobRequest(one_task(1, 2.0), float(i), job_id=100 - 3 * i) for i in range(10)]
    tables, engine = both(Cluster.uniform(2), reqs, hook=lambda done, now: seen.append((done, now)))
    assert engine.batch_jobs == 10
    assert [d for d, _ in seen] == list(range(1, 11)) * 2  # batch run, then reference run
    assert tables["jobs"].column("job_id").to_pylist() == sorted(100 - 3 * i for i in range(10))


@pytest.mark.parametrize(
    "late",
    [
        JobRequest(two_stage(1), 3.0),  # not simple
        # two slots that draw their own durations: unequal, runs step by step
        JobRequest(one_task(2, Duration.of("exponential", mean=2.0), walltime=3.0), 3.0),
        JobRequest(one_task(5, 1.0), 3.0),  # never fits on 4 nodes: aborted
    ],
    ids=["two-stage", "unequal-durations", "unschedulable"],
)
def test_hand_over_to_the_general_loop(late):
    """Jobs queued and running when the first job batch mode cannot take arrives go on
    in the general loop, with the same rows as if it had run everything."""
    mm = one_task(1, Duration.of("exponential", mean=3.0), walltime=3.0, name="mm")
    reqs = [JobRequest(mm, 0.25 * i) for i in range(12)]  # 4 nodes: a queue builds up
    reqs += [late] + [JobRequest(mm, 3.0 + 0.5 * i) for i in range(10)]
    _, engine = both(Cluster.uniform(4), reqs, seed=3)
    assert engine.batch_jobs == 12


def test_hand_over_at_a_job_bound_to_a_node():
    """2 nodes, 2 s jobs: 0 and 1 start at 0, 2 waits until 2 and runs on node-0; at 3
    a job bound to the idle node-1 starts there at once, the general loop goes on."""
    spec = one_task(1, 2.0)
    reqs = [JobRequest(spec, 0.0), JobRequest(spec, 0.0), JobRequest(spec, 1.0)]
    reqs += [JobRequest(spec, 3.0, bind_to=("node-1",))] + [
        JobRequest(spec, 3.0 + i) for i in range(4)
    ]
    tables, engine = both(Cluster.uniform(2), reqs)
    assert engine.batch_jobs == 3
    bound = tables["tasks"].filter(tables["tasks"].column("job_id").to_numpy() == 3).to_pylist()
    assert [(t["node_id"], t["start_time"]) for t in bound] == [("node-1", 3.0)]


def test_hand_over_with_a_pass_due():
    """The job handed over arrives at the instant of an arrival that asked for a pass:
    the pass is still due, after the handed-over arrival."""
    reqs = [JobRequest(one_task(1, 2.0), 0.0), JobRequest(one_task(1, 2.0), 1.0)]
    reqs += [JobRequest(two_stage(1), 1.0), JobRequest(one_task(1, 2.0), 1.0)]
    _, engine = both(Cluster.uniform(1), reqs)
    assert engine.batch_jobs == 2


def test_a_reused_job_id_still_fails_as_in_the_general_loop():
    reqs = [
        JobRequest(one_task(1, 1.0), 0.0, job_id=5),
        JobRequest(one_task(1, 1.0), 1.0, job_id=5),
    ]
    for use_batch in (True, False):
        with pytest.raises(WorkloadError, match="job id 5 is used twice"):
            run(Cluster.uniform(1), reqs, use_batch=use_batch)


def test_requests_out_of_submit_order_fail_as_in_the_general_loop():
    reqs = iter([JobRequest(one_task(1, 1.0), 2.0), JobRequest(one_task(1, 1.0), 1.0)])
    with pytest.raises(WorkloadError, match="submit order: 1.0 after 2.0"):
        run(Cluster.uniform(1), reqs, use_batch=True)


def largest_first(view):
    """A policy written by a user: batch mode leaves it to the general loop."""
    for job in sorted(view.queued(), key=lambda j: (-j.n_nodes, j.submit, j.job_id)):
        view.try_start(job)


def test_what_batch_mode_leaves_to_the_general_loop():
    spec = one_task(1, 1.0)
    reqs = [JobRequest(spec, float(i)) for i in range(5)]
    cases = {
        "own policy": dict(cluster=Cluster.uniform(2), policy=largest_first),
        "two speeds": dict(cluster=Cluster([Node("a"), Node("b", speed=2.0)])),
        "roles": dict(cluster=Cluster([Node("a", role="server"), Node("b")])),
        "mtbf": dict(cluster=Cluster([Node("a", mtbf=100.0, mttr=1.0), Node("b")])),
    }
    for why, kw in cases.items():
        _, engine = both(kw.pop("cluster"), reqs, **kw)
        assert engine.batch_jobs == 0, why


def test_backfilling_in_batch_mode_by_hand():
    """4 nodes. A (3 nodes, walltime and run 10 s) at 0; B (4 nodes, 5 s) at 1 waits
    for A: its shadow time is 10, no extra node. C (1 node, 5 s) at 2 ends by 7 < 10:
    EASY and conservative start it at 2; fcfs keeps it behind B (starts at 15)."""
    reqs = [
        JobRequest(one_task(3, 10.0, name="A"), 0.0),
        JobRequest(one_task(4, 5.0, name="B"), 1.0),
        JobRequest(one_task(1, 5.0, name="C"), 2.0),
    ]
    for policy, c_start in (("easy", 2.0), ("conservative", 2.0), ("fcfs", 15.0)):
        tables, engine = both(Cluster.uniform(4), reqs, policy=policy)
        assert engine.batch_jobs == 3
        starts = tables["jobs"].select(["name", "start_time"]).to_pylist()
        assert starts == [
            {"name": "A", "start_time": 0.0},
            {"name": "B", "start_time": 10.0},
            {"name": "C", "start_time": c_start},
        ], policy


#: the kinds of job batch mode leaves to the general loop
OTHER = {"two1", "failing", "nothing", "too-big"}


@st.composite
def uniform_workloads(draw):
    """Workloads batch mode takes, mostly: kinds of jobs it runs, integer or fractional
    times (ties), sometimes one job it does not take (a hand-over)."""
    n_nodes = draw(st.integers(1, 6))
    speed = draw(st.sampled_from([1.0, 0.5]))
    cluster = Cluster([Node(f"n{i}", speed=speed) for i in range(n_nodes)])
    kinds = [
        one_task(1, Duration.of("exponential", mean=2.0), walltime=3.0, name="exp1"),
        one_task(1, Duration.of("lognormal", mu=0.0, sigma=1.0), walltime=4.0, name="logn1"),
        one_task(min(2, n_nodes), 1.0, name="const2"),
        one_task(min(3, n_nodes), 3.0, walltime=4.0, name="const3"),
        one_task(n_nodes, 0.0, name="zero-all"),
        one_task(1, 2.0, name="const1"),
    ]
    other = [
        two_stage(1),
        one_task(1, 1.0, name="failing", fail_prob=0.5, retries=1),
        no_units(1),  # ends the instant it starts
        one_task(n_nodes + 1, 1.0, name="too-big"),  # never fits: aborted at its submit
    ]
    assert {o.name for o in other} == OTHER
    times = (
        st.sampled_from([0.0, 0.25, 1.0]) if draw(st.booleans()) else st.sampled_from([0.0, 1.0])
    )
    reqs = []
    t = 0.0
    for _ in range(draw(st.integers(1, 30))):
        t += draw(times)
        durations = None
        if draw(st.integers(0, 5)) == 0:  # a recorded duration, on every node
            durations = {("run", "*", "t"): float(draw(st.integers(0, 4)))}
        reqs.append(JobRequest(draw(st.sampled_from(kinds)), t, durations=durations))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(reqs)))
        submit = reqs[at - 1].submit if at else 0.0
        reqs.insert(at, JobRequest(draw(st.sampled_from(other)), submit))
    return cluster, reqs


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    uniform_workloads(),
    st.sampled_from(["fcfs", "easy", "conservative", "sjf", "priority"]),
    st.integers(0, 3),
    st.booleans(),
    st.sampled_from([8, 64, 65_536]),
)
def test_batch_mode_and_the_general_loop_give_the_same_tables(workload, policy, seed, check, flush):
    cluster, reqs = workload
    _, engine = both(cluster, reqs, policy=policy, seed=seed, check=check, flush_rows=flush)
    taken = next(i for i, r in enumerate(reqs + [None]) if r is None or r.spec.name in OTHER)
    assert engine.batch_jobs == taken  # every job up to the first it does not take


@pytest.mark.filterwarnings(
    "ignore:simulate\\(.*deprecated:DeprecationWarning"
)  # the whole pipeline, switch on
def test_run_directories_are_byte_identical(tmp_path):
    spec = one_task(1, Duration.of("exponential", mean=1.0), walltime=1.0, name="mm")
    digests = []
    for use_batch in (True, False):
        path = tmp_path / f"run-{use_batch}"
        reqs = poisson_arrivals(spec, rate=6.4, count=3000, seed=1)
        run_ = simulate(8, reqs, seed=1, out=path, batch=use_batch)
        digests.append(
            {
                f.name: hashlib.sha256(f.read_bytes()).hexdigest()
                for f in sorted(path.glob("*.parquet"))
            }
        )
        assert run_.meta["events"] == 4 * 3000  # arrival, pass, completion, pass per job
    assert digests[0] == digests[1]
    assert len(digests[0]) == len(TABLES)


def test_the_check_refuses_a_node_held_twice(monkeypatch):
    """With the store's checks on, a hand-over whose jobs overlap on a node is refused:
    the check looks at what the loop produced, not at what it meant to produce."""
    spec = one_task(1, 5.0)
    reqs = [JobRequest(spec, 0.0), JobRequest(spec, 1.0)]
    log = BulkLog.emit

    def emit(self, seq):
        for r in self.started:  # every job gets node 0, busy or not
            r.nodes = [0]
        log(self, seq)

    monkeypatch.setattr(BulkLog, "emit", emit)
    with pytest.raises(StoreError, match="node node-0 is already running job 0"):
        run(Cluster.uniform(2), reqs, use_batch=True, check=True)


def test_simulate_still_takes_the_engine_switches_and_warns():
    """``simulate(batch=..., one_step=...)`` are the engine's switches (``Engine(...)``):
    given to simulate they still apply, with a DeprecationWarning; not given, no warning."""
    spec = one_task(1, 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert simulate(2, [spec] * 3).meta["paths"] == {"batch": 3, "one_step": 0, "general": 0}
    with pytest.warns(DeprecationWarning, match=r"simulate\(batch=False\).*Engine\("):
        run_ = simulate(2, [spec] * 3, batch=False)
    assert run_.meta["paths"] == {"batch": 0, "one_step": 3, "general": 0}
    with pytest.warns(DeprecationWarning, match=r"one_step=False, batch=False"):
        run_ = simulate(2, [spec] * 3, batch=False, one_step=False)
    assert run_.meta["paths"] == {"batch": 0, "one_step": 0, "general": 3}
