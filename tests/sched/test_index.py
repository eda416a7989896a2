"""The queue indexes policies keep across passes, against brute force over a plain list.

A script of operations (jobs queued, started, pushed to the back; passes that look
things up) runs on an index and on a list of the queued jobs; every lookup must give
what a walk of the list gives. Scripts are long enough that size classes grow past their
first tree and are compacted, which a short queue never does.
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.engine.central import JobQueue
from benchhub_sim.sched.index import BIG, KeyedQueue, QueuedSizes, SizeClass, SizeClasses, kept

INF = float("inf")
SJF = lambda j: (j.walltime, j.submit, j.job_id)  # noqa: E731
PRIORITY = lambda j: (-j.priority, j.submit, j.job_id)  # noqa: E731
WALLTIMES = [0.0, 1.0, 2.0, 5.0, INF]


class Queue:
    """The incremental view's queue side, on the engine's own JobQueue."""

    def __init__(self) -> None:
        self.queue: JobQueue = JobQueue()
        self.memo: dict = {}
        self.version = 0
        self.count = 0

    def add(self, n: int, walltime: float, priority: float = 0.0) -> None:
        job = SimpleNamespace(job_id=self.count, n_nodes=n, walltime=walltime,
                              priority=priority, submit=float(self.count), queued=True, qseq=-1)  # fmt: skip
        self.count += 1
        self.queue.append(job)

    def queued(self):
        return iter(self.queue)

    def queue_mark(self) -> int:
        return self.queue.appended

    def queued_since(self, mark: int):
        return self.queue.since(mark)


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "start", "push", "ask"]),
        st.integers(0, 3),
        st.sampled_from(WALLTIMES),
        st.integers(0, 10**6),
    ),  # fmt: skip
    min_size=1,
    max_size=400,
)


def play(script, indexes):
    """Play ``script`` on a queue, bringing ``indexes(view)`` up to date after every
    step; at every "ask", yield the queue, the step's number and the indexes."""
    view = Queue()
    for op, n, w, pick in script:
        jobs = list(view.queued())
        if op == "add" or not jobs:
            view.add(n, w, priority=float(pick % 3))
        elif op == "start":
            view.queue.remove(jobs[pick % len(jobs)])
        elif op == "push":
            view.queue.push_back(jobs[0])
        view.queue.compact()
        index = indexes(view)
        if op == "ask":
            yield view, pick, index


@settings(max_examples=examples(30), deadline=None)
@given(script=ops)
def test_size_classes_find_what_a_walk_finds(script):
    for view, pick, index in play(script, lambda v: kept(v, "index", SizeClasses)):
        limit = [0.0, 1.0, 3.0, BIG, INF][pick % 5]
        for size, sized in index.classes.items():
            start = pick % (len(sized) + 1)
            after = sized.ranks[start - 1] if start else -1
            expected = next(
                (j for j in view.queued() if j.n_nodes == size and j.qseq > after
                 and min(j.walltime, BIG) <= limit), None)  # fmt: skip
            i = sized.find(start, limit)
            assert (sized.jobs[i] if i >= 0 else None) is expected
        # every queued job is indexed at its rank, once
        live = sorted(
            j.job_id for s in index.classes.values()
            for j, r in zip(s.jobs, s.ranks, strict=True) if j.queued and j.qseq == r
        )  # fmt: skip
        assert live == sorted(j.job_id for j in view.queued())


def test_a_class_grows_and_compacts_to_a_perfect_tree():
    # 70 jobs of one size, most started: compaction keeps the live ones in a tree of a
    # power-of-two width (a non-power-of-two width lost jobs: find() walks a perfect tree)
    view = Queue()
    for i in range(70):
        view.add(1, float(i % 7))
    index = kept(view, "index", SizeClasses)
    for job in list(view.queued())[:60]:
        view.queue.remove(job)
    assert index.classes[1].find(0, BIG) == 60  # finds the dead on the way
    index.sync(view)
    sized = index.classes[1]
    assert len(sized) == 10 and sized.cap & (sized.cap - 1) == 0
    # walltimes 4, 5, 6, 0, 1, ... from job 60 on
    assert [sized.jobs[sized.find(0, w)].job_id for w in (0.0, 3.0, 4.0)] == [63, 63, 60]
    assert sized.find(0, -1.0) == -1 and SizeClass().find(0, BIG) == -1


@settings(max_examples=examples(30), deadline=None)
@given(script=ops)
def test_keyed_queues_and_queued_sizes_answer_as_the_queue(script):
    def indexes(view):
        return (
            kept(view, "sjf", lambda v: KeyedQueue(v, SJF, by_size=True)),
            kept(view, "prio", lambda v: KeyedQueue(v, PRIORITY, by_size=False)),
            kept(view, "sizes", QueuedSizes),
        )

    for view, _, (by_size, one, sizes) in play(script, indexes):
        queued = list(view.queued())
        for size in range(4):
            first = min((j for j in queued if j.n_nodes == size), key=SJF, default=None)
            assert by_size.top(size) is first
            assert sizes.any_within(size) == any(j.n_nodes <= size for j in queued)
        first = min(queued, key=PRIORITY, default=None)
        assert one.top(0) is first
