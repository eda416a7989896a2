"""Conservative backfilling (Mu'alem & Feitelson 2001)."""

from __future__ import annotations

from typing import cast

from benchhub_sim.sched import memo
from benchhub_sim.sched.profile import Profile
from benchhub_sim.sched.view import IncrementalView, SchedulerView


def conservative(view: SchedulerView) -> None:
    """Conservative backfilling.

    Every queued job, in submit order, gets the earliest reservation that fits the
    free-node profile (built from the running jobs' walltimes and the reservations of
    the jobs before it). Jobs whose reservation is *now* start now. A job therefore
    starts early only if it delays no reservation of a job submitted before it.

    When nothing but submissions happened since the last pass (see
    :class:`~benchhub_sim.sched.memo.Unchanged`), its profile still holds with the
    reservations it made; only new jobs are placed. The jobs a pass starts are in its
    profile as they would be in a new one (their nodes taken until their walltime), so
    the next pass may reuse it too, unless the pass held a job back for its roles
    (``held``): a later start could have been made by it.
    """
    now = view.now
    last = memo.unchanged(view, "conservative")
    if last is not None:
        (profile, held), stable_until = last.state, last.stable_until
        profile.times[0] = now  # no breakpoint lies between the last pass and now
        jobs = cast(IncrementalView, view).queued_since(last.mark)
    else:
        releases = [(j.expected_end, j.n_nodes) for j in view.running()]
        profile = Profile(now, view.free_count(), releases)
        stable_until = min((end for end, _ in releases), default=float("inf"))
        jobs = view.queued()
        held = False
    mark = memo.mark(view)
    before = memo.version(view)
    started = 0
    stale = False
    for job in jobs:
        t = profile.earliest(job.n_nodes, job.walltime)
        if t == now:
            if view.try_start(job):
                started += 1
                stale = stale or held
                stable_until = min(stable_until, now + job.walltime)  # its release
            else:
                # enough nodes by count, but not of the roles it needs: hold a later place
                t = profile.earliest(job.n_nodes, job.walltime, after=now)
                held = True
        if t != float("inf"):
            profile.reserve(t, job.n_nodes, job.walltime)
    version = memo.version(view)
    if before is not None and version is not None:
        # the profile holds the jobs this pass started; anything else that changed the
        # view meanwhile would make it stale
        stale = stale or version != before + started
        state = memo.Unchanged(version, mark, stable_until, (profile, held))  # type: ignore[arg-type]
        memo.remember(view, "conservative", state, started=stale)
