"""Long queues: the built-in policies' fast passes decide as their plain rules, and do
not walk the queue at every pass.

Workloads queue hundreds of jobs on a few nodes: integer times, many equal ends, jobs of
the whole cluster and larger, jobs with nothing to run, zero durations, and walltimes
below the run time (overdue jobs: by count they free their nodes now, in fact not, so
conservative backfilling holds jobs back). The plain rule is the same engine with
``central.memo = None``.
"""

from __future__ import annotations

import numpy as np
import pytest

import benchhub_sim.sched.conservative as conservative
from benchhub_sim.cluster import Cluster
from benchhub_sim.engine.central import Central
from benchhub_sim.engine.engine import Engine
from benchhub_sim.engine.state import JobRun
from benchhub_sim.sched.policies import BenchhubCentral
from benchhub_sim.store import History, Store
from benchhub_sim.workload.base import JobRequest

from .builders import no_units, one_task

FAST = ["easy", "conservative", "sjf", "priority", "benchhub"]


def long_queue(n: int, nodes: int, seed: int, *, rough: bool = True) -> list[JobRequest]:
    """``n`` jobs arriving 0-2 s apart on ``nodes`` nodes (so they queue); ``rough``
    adds zero durations and overdue jobs."""
    rng = np.random.default_rng(seed)
    reqs, t = [], 0.0
    for i in range(n):
        t += float(rng.choice([0, 0, 1, 2]))
        size = int(rng.choice([1, 1, 2, 3, 4, nodes, nodes + 1]))
        duration = float(rng.choice([0, 1, 3, 5, 8, 13, 30] if rough else [1, 3, 5, 8, 13, 30]))
        walltime = duration * float(rng.choice([1, 1, 2, 3, 0.5] if rough else [1, 1, 2, 3]))
        spec = no_units(size) if rng.random() < 0.05 else one_task(size, duration)
        prio = float(rng.integers(0, 3))
        reqs.append(JobRequest(spec, t, job_id=i, walltime=walltime, priority=prio))
    return reqs


def run(reqs, nodes: int, policy: str, *, memo: bool = True, batch: bool = False):
    store = Store(History())
    engine = Engine(
        Cluster.uniform(nodes),
        store,
        policy=BenchhubCentral() if policy == "benchhub" else policy,
        batch=batch,
    )
    if not memo:
        engine.central.memo = None  # every pass a full pass by the plain rule
    engine.run(iter(reqs))
    return store.tables()


def same(a, b) -> bool:
    return all(a[k].equals(b[k]) for k in a)


@pytest.mark.parametrize("policy", FAST)
def test_fast_passes_give_the_tables_of_plain_passes_on_a_long_queue(policy):
    reqs = long_queue(150, 6, seed=3)
    plain = run(reqs, 6, policy, memo=False)
    assert same(run(reqs, 6, policy), plain)
    assert same(run(reqs, 6, policy, batch=True), plain)  # batch mode hands over midway


@pytest.fixture
def resolutions(monkeypatch):
    """How many jobs conservative's passes placed when they resolved deferred jobs."""
    placed = []
    resolve = conservative.Pass._resolve

    def spy(self, view, rank):
        jobs = [j for j in view.queued_since(self.resolved + 1) if j.qseq < rank]
        placed.append(sum(j.qseq not in self.decided for j in jobs))
        resolve(self, view, rank)

    monkeypatch.setattr(conservative.Pass, "_resolve", spy)
    return placed


@pytest.mark.parametrize("seed, n, nodes", [(1, 12, 3), (8, 40, 5)])
def test_conservative_resolves_deferred_jobs_as_the_full_rule_places_them(
    resolutions, seed, n, nodes
):
    # (1, 12, 3): a job that fits now by count is held (an overdue job's nodes are not
    # free in fact) and its next place crosses the bound: the jobs deferred before it
    # are placed first. (8, 40, 5): a held job with no place at all must keep none when
    # the jobs around it are resolved (it once got one, now, and starts came out late)
    reqs = long_queue(n, nodes, seed)
    assert same(run(reqs, nodes, "conservative"), run(reqs, nodes, "conservative", memo=False))
    assert max(resolutions) > 0


@pytest.fixture
def reads(monkeypatch):
    """Counts reads of a job's ``n_nodes``, ``walltime`` and ``priority`` (what a pass
    looks at), and the polls of a polling policy."""
    count = {"reads": 0, "polls": 0}
    for name in ("n_nodes", "walltime", "priority"):
        slot = JobRun.__dict__[name]

        def get(job, slot=slot):
            count["reads"] += 1
            return slot.__get__(job)

        monkeypatch.setattr(
            JobRun, name, property(get, lambda job, v, slot=slot: slot.__set__(job, v))
        )
    poll = Central.poll

    def counted(central):
        count["polls"] += 1
        return poll(central)

    monkeypatch.setattr(Central, "poll", counted)
    return count


@pytest.mark.parametrize("policy", FAST)
def test_a_pass_looks_at_what_it_can_start_not_the_whole_queue(policy, reads):
    # 400 jobs on 6 nodes, a queue of about 250 by the end. A plain pass reads every
    # queued job (60-260 reads per job here, growing with the queue; BenchHub's poller
    # polls every 0.5 s: 7 polls per job); a fast pass, a few per job whatever the
    # queue's length
    reqs = long_queue(400, 6, seed=5, rough=False)
    run(reqs, 6, policy)
    n = len(reqs)
    assert reads["reads"] < 30 * n
    assert reads["polls"] < 2 * n
