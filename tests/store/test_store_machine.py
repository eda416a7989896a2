"""Random legal transitions of a few jobs on a few nodes; illegal ones leave no trace.

The rules below state, from DESIGN.md "Execution semantics", when each transition is
legal (independently of the store's own checks): a legal one must be accepted, the
ones listed in ``illegal`` must be refused, and at teardown the live snapshot must equal
the fold of the history.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from hypothesis_profiles import examples

from benchhub_sim.cluster import Node
from benchhub_sim.errors import StoreError
from benchhub_sim.store import History, Store, fold_history
from benchhub_sim.store.schema import JOB_EVENTS

NODES = ("n0", "n1", "n2")
#: (state, job state) of a live node
LIVE_NODE_STATES = (
    ("idle", None),
    ("running_job", "running"),
    ("running_job", "waiting_instruction"),
    ("running_job", "error"),
    ("running_job", "reporting"),
    ("running_job", "cleanup"),
)


class StoreMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.store = Store(History(flush_rows=5))
        self.t = 0.0
        self.next_job = 0
        for n in NODES:
            self.store.add_node(0.0, Node(n))

    # -- helpers ---------------------------------------------------------------------

    def tick(self):
        self.t += 1.0
        return self.t

    def live(self):
        return self.store.jobs.live

    def unpacked(self):
        """Live jobs with one slot per node, whose rows the rules read by node id. (The
        ``anything`` rule may pack two slots of a job on one node; such a job moves on
        by that rule only.)"""
        out = {}
        for j, job in self.live().items():
            try:
                job.stages  # noqa: B018 - refuses a job with several slots on one node
            except StoreError:
                continue
            out[j] = job
        return out

    def pick(self, data, items):
        items = sorted(items, key=repr)
        return data.draw(st.sampled_from(items)) if items else None

    def stage_rows(self, statuses):
        return [
            (j, s, n, row)
            for j, job in self.unpacked().items()
            for s, by_node in job.stages.items()
            for n, row in by_node.items()
            if row[7] in statuses
        ]

    def task_rows(self, statuses, bg=None):
        return [
            (j, key, ta, row)
            for j, job in self.unpacked().items()
            for key, by_task in job.tasks.items()
            for ta, row in by_task.items()
            if row[12] in statuses and (bg is None or row[11] == bg)
        ]

    # -- jobs ------------------------------------------------------------------------

    @rule(n_nodes=st.integers(1, 2))
    def submit(self, n_nodes):
        # pipeline p runs stages 2p and 2p + 1; task t of a stage is in task pipeline t
        self.store.add_job(
            self.tick(), self.next_job, f"job{self.next_job}", n_nodes=n_nodes, walltime=10.0,
            n_pipelines=3, n_task_pipelines=[2] * 6,
        )  # fmt: skip
        self.next_job += 1

    def assign(self, data):
        busy = set(self.store.jobs.owner)
        free = [n for n in NODES if self.store.nodes.is_live(n) and n not in busy]
        jobs = [
            j
            for j, job in self.live().items()
            if job.status == "queued" and len(job.nodes) < job.row[6]
        ]
        j, n = self.pick(data, jobs), self.pick(data, free)
        if j is not None and n is not None:
            slot = f"slot{len(self.live()[j].nodes)}"
            self.store.job(
                self.tick(), j, "assign", "queued", node_id=n, node_name=slot, detail="any"
            )

    def start(self, data):
        j = self.pick(
            data,
            [
                j
                for j, job in self.live().items()
                if job.status == "queued" and len(job.nodes) == job.row[6]
            ],
        )
        if j is not None:
            self.store.job(self.tick(), j, "start", "running")

    def pipeline_start(self, data):
        def ok(job):
            cur = job.row[9]
            return job.status == "running" and (
                cur is None or (cur < 2 and job.pipelines[cur] != "running")
            )

        j = self.pick(data, [j for j, job in self.live().items() if ok(job)])
        if j is not None:
            cur = self.live()[j].row[9]
            self.store.job(
                self.tick(), j, "pipeline_start", "running", pipeline=0 if cur is None else cur + 1
            )

    def stage_start(self, data):
        background = data.draw(st.booleans())
        options = []
        for j, job in self.unpacked().items():
            p = job.row[9]
            if job.status == "running" and p is not None and job.pipelines[p] == "running":
                for s in (2 * p, 2 * p + 1):
                    for n in job.nodes:
                        if n not in job.stages.get(s, {}):
                            options.append((j, s, n))
        choice = self.pick(data, options)
        if choice is not None:
            j, s, n = choice
            existing = self.live()[j].stages.get(s)
            bg = next(iter(existing.values()))[6] if existing else background
            self.store.job(
                self.tick(),
                j,
                "stage_start",
                "running",
                stage=s,
                stage_name=f"s{s}",
                node_id=n,
                background=bg,
            )

    def task_start(self, data):
        background = data.draw(st.booleans())
        options = []
        for j, s, n, row in self.stage_rows({"running"}):
            tasks = self.live()[j].tasks.get((s, n), {})
            for t in (0, 1):
                if not any(k[0] == t for k in tasks):
                    options.append((j, s, n, t, row[6] and background))
        choice = self.pick(data, options)
        if choice is not None:
            j, s, n, t, bg = choice
            self.store.job(
                self.tick(),
                j,
                "task_start",
                "running",
                stage=s,
                node_id=n,
                task=t,
                task_name=f"t{t}",
                driver="shell",
                background=bg,
                attempt=0,
                task_pipeline=t,
                command=f"run t{t}",
            )

    def task_event(self, data, event, status, statuses, bg=None, **kw):
        choice = self.pick(data, self.task_rows(statuses, bg))
        if choice is not None:
            j, (s, n), (t, a), _ = choice
            self.store.job(
                self.tick(), j, event, status, stage=s, node_id=n, task=t, attempt=a, **kw
            )

    def task_ready(self, data):
        self.task_event(data, "task_ready", "background", {"running"}, bg=True)

    def task_finish(self, data):
        self.task_event(data, "task_finish", "finished", {"running"}, bg=False, exit_code=0)

    def task_fail(self, data):
        self.task_event(
            data, "task_fail", "failed", {"running", "background"}, exit_code=1, detail="boom"
        )

    def task_stop(self, data):
        self.task_event(
            data, "task_stop", "stopped", {"queued", "running", "background"}, detail="stopper"
        )

    def task_retry(self, data):
        options = []
        for j, (s, n), (t, a), _ in self.task_rows({"failed"}):
            job = self.live()[j]
            if job.stages[s][n][7] == "running" and job.last_attempt[(s, n, t)] == a:
                options.append((j, s, n, t, a + 1))
        choice = self.pick(data, options)
        if choice is not None:
            j, s, n, t, a = choice
            self.store.job(
                self.tick(), j, "task_retry", "queued", stage=s, node_id=n, task=t, attempt=a
            )

    def tasks_of(self, j, s, n):
        return [row[12] for row in self.live()[j].tasks.get((s, n), {}).values()]

    def stage_ready(self, data):
        rows = [
            (j, s, n)
            for j, s, n, row in self.stage_rows({"running"})
            if row[6]
            and self.tasks_of(j, s, n)
            and not {"queued", "running"} & set(self.tasks_of(j, s, n))
        ]
        choice = self.pick(data, rows)
        if choice is not None:
            j, s, n = choice
            self.store.job(self.tick(), j, "stage_ready", "background", stage=s, node_id=n)

    def stage_finish(self, data):
        rows = [
            (j, s, n)
            for j, s, n, _ in self.stage_rows({"running", "background"})
            if self.tasks_of(j, s, n)
            and not {"queued", "running", "background"} & set(self.tasks_of(j, s, n))
        ]
        choice = self.pick(data, rows)
        if choice is not None:
            j, s, n = choice
            self.store.job(self.tick(), j, "stage_finish", "finished", stage=s, node_id=n)

    def stage_end(self, data):
        event = data.draw(st.sampled_from(["stage_stop", "stage_abort"]))
        choice = self.pick(
            data, [(j, s, n) for j, s, n, _ in self.stage_rows({"running", "background"})]
        )
        if choice is not None:
            j, s, n = choice
            status = "stopped" if event == "stage_stop" else "aborted"
            self.store.job(self.tick(), j, event, status, stage=s, node_id=n)

    def pipeline_finish(self, data):
        status = data.draw(st.sampled_from(["finished", "background"]))
        jobs = [
            j
            for j, job in self.unpacked().items()
            if job.status == "running"
            and job.row[9] is not None
            and job.pipelines[job.row[9]] == "running"
            and not job.fg
            and {2 * job.row[9], 2 * job.row[9] + 1}
            & set(job.stages)  # favour pipelines that ran stages
        ]
        j = self.pick(data, jobs)
        if j is not None:
            self.store.job(self.tick(), j, "pipeline_finish", status)

    def finish(self, data):
        # favour jobs that went through both pipelines (an early finish is legal too:
        # the `anything` rule tries it)
        done = [
            j
            for j, job in self.live().items()
            if job.status == "running"
            and not job.fg
            and job.pipelines.get(1) in ("finished", "background")
        ]
        j = self.pick(data, done)
        if j is not None:
            self.store.job(self.tick(), j, "finish", "finished")

    def abort(self, data):
        j = self.pick(data, list(self.live()))
        if j is not None:
            self.store.job(self.tick(), j, "abort", "aborted", detail="test")

    # -- nodes -----------------------------------------------------------------------

    def node_state(self, data):
        state, job_state = data.draw(st.sampled_from(LIVE_NODE_STATES))
        n = self.pick(data, [n for n in NODES if self.store.nodes.is_live(n)])
        if n is not None:
            job_id = self.store.jobs.owner.get(n) if job_state else None
            self.store.node(self.tick(), n, "state", state, job_id, job_state=job_state)

    def node_life(self, data):
        event = data.draw(st.sampled_from(["fail", "recover", "deregister", "register"]))
        nodes = self.store.nodes
        ok = {
            "fail": lambda n: nodes.is_live(n),
            "recover": lambda n: nodes.state(n) == "offline" and n not in nodes.deregistered,
            "deregister": lambda n: n not in nodes.deregistered,
            "register": lambda n: n in nodes.deregistered,
        }[event]
        n = self.pick(data, [n for n in NODES if ok(n)])
        if n is None:
            return
        if event == "register":
            self.store.add_node(self.tick(), Node(n, cores=2.0))
        else:
            self.store.node(self.tick(), n, event, None)

    # -- one legal step of any kind --------------------------------------------------

    PROGRESS = (
        "assign", "start", "pipeline_start", "stage_start", "task_start", "task_ready",
        "task_finish", "task_fail", "task_stop", "task_retry", "stage_ready", "stage_finish",
        "stage_end", "pipeline_finish", "finish",
    )  # fmt: skip
    DISRUPT = ("abort", "node_state", "node_life")

    def first_legal(self, data, kinds):
        for name in data.draw(st.permutations(kinds)):
            seq = self.store.history.seq
            getattr(self, name)(data)
            if self.store.history.seq != seq:
                return

    @rule(data=st.data(), n=st.integers(1, 6))
    def step(self, data, n):
        """Move jobs on by ``n`` legal transitions (any kind that exists now)."""
        for _ in range(n):
            seq = self.store.history.seq
            self.first_legal(data, self.PROGRESS)
            if self.store.history.seq == seq:  # nothing can move: bring work
                self.submit(data.draw(st.integers(1, 2)))

    @rule(data=st.data())
    def disrupt(self, data):
        """Abort a job or change a node's state."""
        self.first_legal(data, self.DISRUPT)

    # -- illegal transitions -----------------------------------------------------------

    def refused(self, call):
        before, seq = self.store.tables(), self.store.history.seq
        with pytest.raises(StoreError):
            call()
        assert self.store.history.seq == seq
        after = self.store.tables()
        assert all(after[k].equals(before[k]) for k in before)

    @rule(data=st.data())
    def illegal(self, data):
        s, t = self.store, self.tick()
        calls = [
            lambda: s.job(t, 999, "start", None),
            lambda: (
                s.add_node(t, Node("n0"))
                if "n0" not in s.nodes.deregistered
                else s.node(t, "n0", "state", "idle")
            ),
        ]
        for j in range(self.next_job):
            status = s.jobs.status(j)
            if status != "queued":
                calls.append(lambda j=j: s.job(t, j, "start", None))
                calls.append(lambda j=j: s.job(t, j, "assign", None, node_id="n1", node_name="x"))
            if status in ("finished", "aborted"):
                calls.append(lambda j=j: s.job(t, j, "abort", None))
                calls.append(lambda j=j: s.add_job(t, j, "again", n_nodes=1, walltime=1.0))
        for j, st_, n, row in self.stage_rows({"running"}):
            job = self.live()[j]
            calls.append(
                lambda j=j, st_=st_, n=n: s.job(
                    t, j, "task_finish", None, stage=st_, node_id=n, task=7
                )
            )
            others = [x for x in NODES if x not in job.nodes]
            if others:
                calls.append(
                    lambda j=j, st_=st_, o=others[0]: s.job(
                        t, j, "task_start", None, stage=st_, node_id=o, task=0
                    )
                )
            if not row[6]:
                calls.append(
                    lambda j=j, st_=st_, n=n: s.job(t, j, "stage_ready", None, stage=st_, node_id=n)
                )
            calls.append(lambda j=j: s.job(t, j, "finish", None))
        self.refused(data.draw(st.sampled_from(calls)))

    @rule(
        data=st.data(),
        event=st.sampled_from(JOB_EVENTS),
        stage=st.integers(0, 2),
        node=st.sampled_from(NODES),
        task=st.integers(0, 1),
        attempt=st.none() | st.integers(0, 1),
    )
    def anything(self, data, event, stage, node, task, attempt):
        """Any event: either accepted, or refused with no trace."""
        j = data.draw(st.integers(0, self.next_job))
        before, seq = self.store.tables(), self.store.history.seq
        try:
            if event == "submit":
                self.store.add_job(self.tick(), j, "x", n_nodes=1, walltime=1.0)
                if j >= self.next_job:
                    self.next_job = j + 1
            else:
                self.store.job(
                    self.tick(),
                    j,
                    event,
                    None,
                    stage=stage,
                    node_id=node,
                    task=task,
                    attempt=attempt,
                    pipeline=stage // 2,
                )
        except StoreError:
            assert self.store.history.seq == seq
            after = self.store.tables()
            assert all(after[k].equals(before[k]) for k in before)

    def teardown(self):
        if not hasattr(self, "store"):
            return
        t = self.store.tables()
        folded = fold_history(t["job_events"], t["node_events"], t["jobs"], t["nodes"])
        for name in folded:
            assert folded[name].equals(t[name]), name
        # invariants of the semantics, whatever the path
        for job in t["jobs"].to_pylist():
            if job["status"] in ("finished", "aborted"):
                assert job["foreground_stages"] == [] and job["background_stages"] == []
        live_tasks = [
            r for r in t["tasks"].to_pylist() if r["status"] in ("running", "background", "queued")
        ]
        ended = {
            j["job_id"] for j in t["jobs"].to_pylist() if j["status"] in ("finished", "aborted")
        }
        assert not [r for r in live_tasks if r["job_id"] in ended]
        for name in ("stage_pipelines", "task_pipelines"):
            live = [r for r in t[name].to_pylist() if r["status"] in ("running", "background")]
            assert not [r for r in live if r["job_id"] in ended], name


StoreMachine.TestCase.settings = settings(
    max_examples=examples(15),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_store_machine = StoreMachine.TestCase


@pytest.mark.parametrize(
    ("last", "status"),
    [
        ([], "queued"),
        ([("running", None)], "running"),
        ([("finished", None), ("queued", None)], "running"),  # a retry waits
        ([("failed", None)], "aborted"),
        ([("finished", None), ("failed", None)], "aborted"),
        ([("stopped", None)], "aborted"),  # stopped before it was ready
        ([("stopped", 5.0)], "finished"),  # a background task stopped once ready
        ([("background", 3.0)], "background"),
        ([("finished", None), ("background", 1.0)], "background"),
        ([("stopped", 2.0), ("finished", None)], "finished"),
        ([("finished", None)], "finished"),
    ],
)
def test_task_pipeline_status_follows_the_last_attempts(last, status):
    from benchhub_sim.store.jobs import task_pipeline_status

    assert task_pipeline_status(last) == status
