"""The store's fast planner plans exactly what the general planner plans, or leaves it to it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from engine.builders import no_units
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.cluster import Node, load_cluster
from benchhub_sim.engine.engine import Engine
from benchhub_sim.errors import StoreError
from benchhub_sim.spec.load import load_spec
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
from benchhub_sim.store import store as store_module
from benchhub_sim.store.fastplan import plan_fast
from benchhub_sim.workload.arrivals import poisson_arrivals

DATA = Path(__file__).resolve().parents[2] / "data"


class ComparingStore(Store):
    """A store that, before each job event, plans it both ways and compares."""

    def __init__(self, check: bool) -> None:
        # bulk=False: bindings go event by event, through job(), so they are compared too
        super().__init__(History(flush_rows=50), check=check, bulk=False)
        self.fast = Counter()
        self.general = Counter()

    def job(self, time, job_id, event, status, pipeline=None, stage=None, stage_name=None,
            node_id=None, node_name=None, task=None, task_name=None, driver=None,
            background=None, attempt=None, exit_code=None, detail=None, role=None,
            task_pipeline=None, command=None):  # fmt: skip
        ev = (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
              task, task_name, driver, background, attempt, exit_code, detail, role,
              task_pipeline, command)  # fmt: skip
        planned = self.jobs.plan(list(ev), self.nodes)  # plan only reads the snapshot
        fast = plan_fast(self.jobs, self.nodes, ev)
        if fast is None:
            self.general[event] += 1
        else:
            assert [fast] == planned, event
            self.fast[event] += 1
        super().job(*ev)


def run_mix(check: bool, store: Store | None = None) -> Store:
    store = store if store is not None else Store(History(flush_rows=50), check=check)
    specs = [
        load_spec(DATA / "specs" / f"{n}.yml")
        for n in ("db-loaders", "oltp", "pingpong", "task-pipelines")
    ]
    engine = Engine(
        load_cluster(DATA / "clusters" / "64.yml"),
        store,
        policy="easy",
        seed=3,
        max_loader_pack=3,
        faults=[(50.0, "loader-a-3", 30.0), (120.0, "db-b-1", 500.0)],
    )
    engine.run(poisson_arrivals(specs, rate=0.05, count=60, seed=3, mix="random"))
    return store


@pytest.mark.parametrize("check", [True, False])
def test_fast_plans_equal_general_plans_on_a_benchhub_mix(check):
    store = run_mix(check, ComparingStore(check))
    # every common event kind went the fast way at least once
    for event in ("assign", "start", "pipeline_start", "pipeline_finish", "stage_start",
                  "stage_ready", "stage_finish", "stage_stop", "task_start", "task_ready",
                  "task_finish"):  # fmt: skip
        assert store.fast[event] > 0, event
    # job ends and stops expand to several events: the general planner's work
    assert store.general["finish"] > 0 and store.fast["finish"] == 0


def test_checked_unchecked_and_general_planner_runs_give_equal_tables(monkeypatch):
    """Checks on or off, and the fast planners switched off (``Store(fast_plan=False)``:
    every job and node event planned the general way), give the same tables."""
    calls = Counter()

    def counted(name, fn):
        def call(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return call

    a, b = run_mix(True).tables(), run_mix(False).tables()
    monkeypatch.setattr(store_module, "plan_fast", counted("plan_fast", plan_fast))
    slow = Store(History(flush_rows=50), fast_plan=False)
    monkeypatch.setattr(slow.nodes, "set_state", counted("set_state", slow.nodes.set_state))
    c = run_mix(True, slow).tables()
    assert calls == Counter()
    assert a.keys() == b.keys() == c.keys()
    assert all(a[k].equals(b[k]) and a[k].equals(c[k]) for k in a)


def zero_task(n: int) -> JobSpec:
    task = Task("z", shell=ShellPayload("true"), duration=Duration.constant(0.0))
    stage = Stage("run", selectors=(Selector(all=True),), tasks=(task,))
    return JobSpec(f"zero{n}", node_assignments=(NodeAssignment("w", count=n),), stages=(stage,))


def _one_task(n: int, mean: float) -> JobSpec:
    task = Task(
        "t",
        shell=ShellPayload("true"),
        duration=Duration.of("exponential", mean=mean),
        fail_prob=0.2,
        retries=1,
    )
    stage = Stage(
        "run", selectors=(Selector(all=True),), tasks=(task, Task("u", shell=ShellPayload("true")))
    )
    return JobSpec(
        f"n{n}", node_assignments=(NodeAssignment("w", count=n),), stages=(stage,), walltime=2.0
    )


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
    check=st.booleans(),
)
def test_fast_plans_equal_general_plans_with_failures_and_retries(sizes, seed, check):
    from benchhub_sim.cluster import Cluster

    store = ComparingStore(check)
    # with a job that has nothing to run, one with a zero-length task, one that never fits
    specs = [_one_task(n, 1.0) for n in sizes] + [no_units(2), zero_task(1), zero_task(6)]
    Engine(Cluster.uniform(5), store, seed=seed).run(
        poisson_arrivals(specs, rate=2.0, count=15, seed=seed)
    )
    assert store.fast["task_start"] > 0


# -- illegal events: the fast planner leaves them to the general one, which raises --


@pytest.fixture
def store():
    s = Store(History(flush_rows=3))
    for n in ("db-0", "ld-0", "n9"):
        s.add_node(0.0, Node(n))
    s.add_job(0.0, 3, "pp", n_nodes=2, walltime=60.0, n_pipelines=2)
    s.job(1.0, 3, "assign", "queued", node_id="db-0", node_name="srv", detail="exact")
    return s


def rejected(store: Store, *args, **kw) -> None:
    names = ("pipeline", "stage", "stage_name", "node_id", "node_name", "task", "task_name",
             "driver", "background", "attempt", "exit_code", "detail", "role", "task_pipeline",
             "command")  # fmt: skip
    full = (*args, *(kw.get(n) for n in names))
    assert plan_fast(store.jobs, store.nodes, full) is None
    seq = store.history.seq
    with pytest.raises(StoreError):
        store.job(*args, **kw)
    assert store.history.seq == seq


def test_illegal_events_are_not_planned_fast(store):
    j = store.job
    rejected(store, 1.0, 3, "start", "running")  # one of two nodes assigned
    # the same slot twice (a second slot on one node is legal: loader packing)
    rejected(store, 1.0, 3, "assign", "queued", node_id="db-0", node_name="srv")
    rejected(store, 1.0, 3, "assign", "queued", node_id="ld-0", node_name="srv")  # slot taken
    rejected(store, 1.0, 3, "assign", "running", node_id="ld-0", node_name="cli")  # status
    j(1.0, 3, "assign", "queued", node_id="ld-0", node_name="cli")
    rejected(store, 1.0, 3, "pipeline_start", "running", pipeline=0)  # job not running
    j(1.0, 3, "start", "running")
    rejected(store, 1.0, 3, "stage_start", "running", pipeline=0, stage=0, stage_name="s",
             node_id="db-0", node_name="srv", background=False)  # pipeline not started  # fmt: skip
    rejected(store, 1.0, 3, "pipeline_start", "running", pipeline=2)  # the job has 2
    j(1.0, 3, "pipeline_start", "running", pipeline=0)
    rejected(store, 1.0, 3, "pipeline_start", "running", pipeline=0)  # started twice
    rejected(store, 1.0, 3, "stage_start", "running", pipeline=0, stage=0, stage_name="s",
             node_id="db-0", node_name="cli", background=False)  # wrong slot  # fmt: skip
    j(1.0, 3, "stage_start", "running", pipeline=0, stage=0, stage_name="s", node_id="db-0",
      node_name="srv", background=False)  # fmt: skip
    rejected(store, 1.0, 3, "stage_ready", "background", stage=0, node_id="db-0", node_name="srv")
    rejected(store, 2.0, 3, "task_finish", "finished", stage=0, node_id="db-0", task=0, attempt=0)
    j(2.0, 3, "task_start", "running", stage=0, node_id="db-0", task=0, task_name="t",
      driver="shell", background=True, attempt=0)  # fmt: skip
    rejected(store, 2.0, 3, "task_finish", "finished", stage=0, node_id="db-0", task=0, attempt=0)
    rejected(store, 2.0, 3, "stage_finish", "finished", stage=0, node_id="db-0", node_name="srv")
    rejected(store, 2.0, 3, "pipeline_finish", "finished", pipeline=0)  # stage 0 still runs
    rejected(store, 2.0, 3, "task_start", "running", stage=0, node_id="db-0", task=0,
             task_name="t", driver="shell", background=True, attempt=0)  # fmt: skip
