"""Conservative backfilling (Mu'alem & Feitelson 2001).

The rule, at every pass: every queued job, in queue order, gets the earliest reservation
that fits the free-node :class:`~benchhub_sim.sched.profile.Profile` (built from the
running jobs' walltimes and the reservations of the jobs before it). Jobs whose
reservation is *now* start now. A job therefore starts early only if it delays no
reservation of a job queued before it. A job that fits by count but that ``try_start``
refuses (its roles; an overdue job's nodes, free by its walltime but not in fact) is
*held*: it gets the next place after now.

:func:`full_pass` applies the rule as written: it places every queued job, which costs
the queue's length times the profile's at every job end, and on a long queue most of
those places change from one pass to the next. With an incremental view, :class:`Pass`
decides the same starts while placing only the jobs those starts depend on. It keeps
the profile ``P`` of the jobs it placed and a *bound* ``B``, and walks the queue in
order:

- A job is placed exactly when its window in ``P`` ends by ``B``: the jobs it passed
  over can only be placed at or after ``B`` (below), so they can neither take nodes in
  that window nor make an earlier start work.
- A job that cannot start before ``B`` in ``P`` is passed over (*deferred*). ``P``
  lacks only deferred jobs, so it has at least the nodes the full rule's profile has:
  a job that cannot start before ``B`` in ``P`` cannot in the full rule either. The
  queue's :class:`~benchhub_sim.sched.index.SizeClasses` skip such jobs unseen: per
  size, the walltime above which no job fits before ``B``, learnt from one that did not.
- ``B`` is the time until which the smallest queued size stays free from now: no job
  that could start now crosses it, and no window does (at ``B`` too few nodes are
  free for any job). A job placed after now whose window crosses ``B`` anyway (``B``
  came from an earlier pass, or the job is held) is deferred and ``B`` moves to its
  start; if a job that would start now, or a held one, crosses it, every job deferred
  before it is first placed, in order, where the full rule puts it (*resolved*).
- The walk stops when no job left could start now even in ``P``.

On overloaded traces a pass places a few dozen jobs whatever the queue's length (a job
with a zero walltime fits any gap, so such jobs, while they wait, are looked at by every
pass). A pass that finds nothing changed but new jobs since the last one
(:mod:`~benchhub_sim.sched.memo`) goes on where that one stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import Any, cast

from benchhub_sim.sched import memo
from benchhub_sim.sched.index import BIG, SizeClasses, kept
from benchhub_sim.sched.profile import INF, Profile
from benchhub_sim.sched.view import IncrementalView, SchedulerView


def conservative(view: SchedulerView) -> None:
    """Conservative backfilling (see :mod:`benchhub_sim.sched.conservative` for the rule)."""
    index = kept(view, "conservative.index", SizeClasses)
    if index is None:
        full_pass(view)
        return
    inc = cast(IncrementalView, view)
    last = memo.unchanged(view, "conservative")
    state = last.state if last is not None else Pass(view)
    before = inc.version
    started = state.run(inc, index)
    # the profile holds the jobs this pass started as a new pass would hold them
    # (running until their walltime); anything else that changed the view meanwhile, or
    # a start after a held job (a new pass places the held job with it running), makes
    # it stale
    stale = state.stale or inc.version != before + started
    left = memo.Unchanged(inc.version, inc.queue_mark(), state.stable_until, state)
    memo.remember(view, "conservative", left, started=stale)


def full_pass(view: SchedulerView) -> None:
    """The rule as written (see the module docstring): every queued job placed."""
    now = view.now
    releases = [(j.expected_end, j.n_nodes) for j in view.running()]
    profile = Profile(now, view.free_count(), releases)
    for job in view.queued():
        t = profile.earliest(job.n_nodes, job.walltime)
        if t == now and not view.try_start(job):
            t = profile.earliest(job.n_nodes, job.walltime, after=now)  # held
        if t != INF:
            profile.reserve(t, job.n_nodes, job.walltime)


class Pass:
    """A pass of conservative backfilling that places only what its starts depend on
    (see the module docstring); :meth:`run` again continues it while only new jobs
    arrived.

    Jobs are named by their rank ``qseq``: ``cursor`` is the last one visited,
    ``resolved`` the last one up to which no job is deferred, ``decided`` the jobs after
    it placed exactly, or held with no place (every job not started, not deferred).
    """

    def __init__(self, view: SchedulerView) -> None:
        ends = [(j.expected_end, j.n_nodes) for j in view.running()]
        self.profile = Profile(view.now, view.free_count(), ends)
        #: the view stays as this pass left it until then (when nothing else happens)
        self.stable_until = min((end for end, _ in ends), default=INF)
        self.bound = INF
        self.limits: dict[int, float] = {}  # size -> longest walltime that may fit before bound
        self.cursor = -1
        self.resolved = -1
        self.decided: set[int] = set()
        self.held = False  # a job was held for its roles
        self.stale = False  # and a job started after it
        #: size -> (profile.changes, the longest walltime of that size that fits from now)
        self._runs: dict[int, tuple[int, float]] = {}

    def run(self, view: IncrementalView, index: SizeClasses) -> int:
        """Start the jobs the rule starts now; return how many."""
        self.profile.times[0] = view.now  # no breakpoint lies between the last run and now
        started = 0
        self._runs.clear()
        self._tighten(index)
        visits = self._heap(index, self._limit)
        starts = self._heap(index, self._start_limit)
        while self._may_start(index, starts):
            found = self._pop(index, visits)
            if found is None:
                break
            n, i = found
            sized = index.classes[n]
            job = sized.jobs[i]
            outcome = self._visit(view, index, job, deferred=True)
            resolved = outcome is _RESOLVE
            if resolved:
                self._resolve(view, job.qseq)
                self._tighten(index)
                outcome = self._visit(view, index, job, deferred=False)
            started += outcome is _STARTED
            self.cursor = job.qseq
            if not job.queued:
                sized.kill(i)
            if resolved:  # what may fit before the bound starts over
                visits = self._heap(index, self._limit)
            else:
                i = sized.find(i + 1, self._limit(n))
                if i >= 0:
                    heappush(visits, (sized.ranks[i], n, i))
        return started

    def _visit(
        self, view: SchedulerView, index: SizeClasses, job: Any, *, deferred: bool
    ) -> object:
        """Decide ``job``: start it, place it, defer it, or ask for the jobs deferred
        before it to be resolved first (``deferred``: some may be)."""
        profile = self.profile
        now, n, w = view.now, job.n_nodes, job.walltime
        t = profile.earliest(n, w, before=self.bound)
        if t == INF:
            # it cannot start before the bound: neither can a longer job of its size
            self.limits[n] = math.nextafter(min(w, BIG), -INF)
            return _SKIPPED
        if t == now:
            if now + w > self.bound and deferred:
                return _RESOLVE
            if view.try_start(job):
                self.stale = self.stale or self.held
                self.stable_until = min(self.stable_until, now + w)
                profile.reserve(now, n, w)
                self._tighten(index)
                return _STARTED
            self.held = True  # enough nodes by count, not of its roles: the next place
            t = profile.earliest(n, w, after=now)
            if t == INF:
                self.decided.add(job.qseq)  # no place: the resolution must not give it one
                return _PLACED
            if t + w > self.bound and deferred:
                return _RESOLVE
        elif t + w > self.bound:
            self.bound = t  # deferred: the jobs placed after it must end by its start
            return _DEFERRED
        profile.reserve(t, n, w)
        self.decided.add(job.qseq)
        self._tighten(index)
        return _PLACED

    # -- the walk --------------------------------------------------------------------

    def _tighten(self, index: SizeClasses) -> None:
        """Lower the bound to the longest any queued size stays free from now (the
        smallest size stays free longest), so that no job that could start now crosses
        it."""
        if index.classes:
            run = self.profile.run(min(index.classes))
            if run >= 0:
                self.bound = min(self.bound, self.profile.times[0] + run)

    def _limit(self, n: int) -> float:
        """The longest walltime of size ``n`` that may fit before the bound."""
        return self.limits.get(n, BIG)

    def _start_limit(self, n: int) -> float:
        """The longest walltime of size ``n`` that may fit from now (-1: none), with room
        for rounding."""
        profile = self.profile
        cached = self._runs.get(n)
        if cached is not None and cached[0] == profile.changes:
            return cached[1]
        run = profile.run(n)
        if 0 <= run < BIG:
            run += 1e-9 * max(1.0, abs(profile.times[0]) + run)
        self._runs[n] = (profile.changes, run)
        return run

    def _heap(
        self, index: SizeClasses, limit: Callable[[int], float]
    ) -> list[tuple[int, int, int]]:
        """``(rank, size, entry)`` of the first job after the cursor of each size whose
        walltime is within ``limit(size)``."""
        heap = []
        for n, sized in index.classes.items():
            cap = limit(n)
            if cap >= 0:
                i = sized.find(sized.after(self.cursor), cap)
                if i >= 0:
                    heap.append((sized.ranks[i], n, i))
        heapify(heap)
        return heap

    def _pop(
        self, index: SizeClasses, visits: list[tuple[int, int, int]]
    ) -> tuple[int, int] | None:
        """The next job to visit: the first after the cursor that may fit before the
        bound."""
        while visits:
            rank, n, i = heappop(visits)
            sized = index.classes[n]
            limit = self._limit(n)
            if sized.walltime(i) > limit:  # its size's limit came down since
                i = sized.find(i, limit)
                if i >= 0:
                    heappush(visits, (sized.ranks[i], n, i))
                continue
            return n, i
        return None

    def _may_start(self, index: SizeClasses, starts: list[tuple[int, int, int]]) -> bool:
        """Whether a job after the cursor could still start now, even in the profile
        of the jobs placed so far (which has at least the nodes of the full rule's).

        ``starts`` holds such a job per size, found earlier: the first is checked again
        (the cursor moved on, the profile filled) and looked for anew when it no longer
        qualifies."""
        while starts:
            rank, n, i = starts[0]
            sized = index.classes[n]
            cap = self._start_limit(n)
            if rank > self.cursor and sized.walltime(i) <= cap:
                return True
            heappop(starts)
            if cap >= 0:
                i = sized.find(sized.after(self.cursor) if rank <= self.cursor else i, cap)
                if i >= 0:
                    heappush(starts, (sized.ranks[i], n, i))
        return False

    def _resolve(self, view: IncrementalView, rank: int) -> None:
        """Place, in queue order, every job deferred before the job of ``rank``.

        Each goes where the full rule puts it: every job before it is placed, and the
        jobs placed after it end before any place it could take. None can start now."""
        profile = self.profile
        for job in view.queued_since(self.resolved + 1):
            if job.qseq >= rank:
                break
            if job.qseq not in self.decided:
                t = profile.earliest(job.n_nodes, job.walltime)
                if t != INF:
                    profile.reserve(t, job.n_nodes, job.walltime)
        self.resolved = rank - 1
        self.decided.clear()
        self.bound = INF
        self.limits.clear()


#: what :meth:`Pass._visit` did with a job
_STARTED, _PLACED, _DEFERRED, _SKIPPED, _RESOLVE = (object() for _ in range(5))
