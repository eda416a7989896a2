"""The built-in policies on a notebook's own view: the plain view of the module docstring
of sched.policies, with no memo, no queue marks and no version."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchhub_sim.sched.policies import POLICIES


class PlainView:
    """4 nodes; one running job holds 2 of them until t=10."""

    def __init__(self, jobs):
        self.now = 0.0
        self.total_nodes = 4
        self.free = 2
        self.jobs = jobs
        self.started: list[str] = []
        self.busy = [SimpleNamespace(n_nodes=2, expected_end=10.0)]

    def queued(self):
        return iter([job for job in self.jobs if job.queued])

    def free_count(self):
        return self.free

    def running(self):
        return list(self.busy)

    def try_start(self, job):
        if not job.queued or job.n_nodes > self.free:
            return False
        self.free -= job.n_nodes
        job.queued = False
        self.started.append(job.name)
        return True


def job(i: int, name: str, n: int, walltime: float):
    return SimpleNamespace(job_id=i, name=name, submit=float(i), n_nodes=n,
                           walltime=walltime, priority=0.0, queued=True)  # fmt: skip


# A (3 nodes) waits for t=10; EASY reserves it there with 1 extra node, which B (1 node,
# 20 s) takes; D (1 node, 3 s) ends before 10; C (2 nodes) never fits the 1 node left.
# Conservative: A at [10, 15), B fits beside it from now, C at 15, D now. sjf: D then B.
# fcfs and priority (equal priorities: submit order) wait behind A; so does benchhub,
# which cannot push A back on a view without push_back.
@pytest.mark.parametrize(
    "policy, started",
    [
        ("fcfs", []),
        ("easy", ["B", "D"]),
        ("conservative", ["B", "D"]),
        ("sjf", ["D", "B"]),
        ("priority", []),
        ("benchhub", []),
    ],  # fmt: skip
)
def test_built_in_policies_on_a_plain_view(policy, started):
    view = PlainView([job(0, "A", 3, 5.0), job(1, "B", 1, 20.0), job(2, "C", 2, 4.0),
                      job(3, "D", 1, 3.0)])  # fmt: skip
    POLICIES[policy](view)
    assert view.started == started
