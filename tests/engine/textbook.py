"""Textbook queue policies for rigid jobs, written from their definitions and nothing else.

The engine's policies are checked against these on tie-heavy workloads: every path of the
engine (batch mode, one-step jobs, the general loop, passes that reuse the last one's
reservations) must give the start times computed here. Nothing in this module imports
the package: it is an independent reference.

A job needs ``n`` identical nodes for ``duration`` seconds; ``walltime`` is the user's
estimate the backfilling policies plan with (it may be shorter than the duration: the
job is then *overdue* once its walltime passed, and counts as ending now). At one
instant, every arrival and every job end is taken first, then one scheduling pass;
a job that ends the instant it starts frees its nodes for another pass at that instant.

- FCFS: in submit order while the first job fits.
- EASY (Lifka 1995; Mu'alem & Feitelson 2001): FCFS, then the first job that does not
  fit (the head) gets a reservation at the *shadow time*, the earliest time at which, by
  the running jobs' walltimes, enough nodes are free; the *extra* nodes are all the
  nodes free then minus the head's. A later job starts now if it fits now and either
  ends (by its walltime) by the shadow time or needs no more than the extra nodes (which
  it then uses up).
- Conservative backfilling (Mu'alem & Feitelson 2001): each queued job, in submit order,
  gets the earliest start at which enough nodes stay free for its walltime, given the
  running jobs and the reservations of the jobs before it; those whose start is now
  start now.
- SJF: by walltime (ties by submit time, then id), every job that fits starts.
- Priority: by priority, highest first (ties by submit time, then id), while the first
  job fits.
- BenchHub's central (its job poller, ``central-server-job.go``): at every poll, t = k ×
  interval, the job at the head of the queue starts if it fits, else goes to the back.
  :func:`poll_schedule` walks every poll, one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

INF = float("inf")


@dataclass(frozen=True)
class Job:
    job_id: int
    submit: float
    n: int
    duration: float
    walltime: float
    priority: float = 0.0


@dataclass
class _Running:
    job: Job
    start: float

    @property
    def end(self) -> float:
        return self.start + self.job.duration

    def expected_end(self, now: float) -> float:
        return max(self.start + self.job.walltime, now)


def schedule(jobs: list[Job], nodes: int, policy: str) -> dict[int, float]:
    """Start time of every job that fits the cluster, under ``policy``."""
    pending = sorted((j for j in jobs if j.n <= nodes), key=lambda j: (j.submit, j.job_id))
    queue: list[Job] = []
    running: list[_Running] = []
    starts: dict[int, float] = {}
    while pending or running:
        now = min([j.submit for j in pending[:1]] + [r.end for r in running])
        while pending and pending[0].submit == now:
            queue.append(pending.pop(0))
        while True:
            running = [r for r in running if r.end != now]  # they end: nodes are free
            free = nodes - sum(r.job.n for r in running)
            started = PASSES[policy](now, list(queue), free, running, nodes)
            for job in started:
                queue.remove(job)
                running.append(_Running(job, now))
                starts[job.job_id] = now
            # jobs that end the instant they start free their nodes for another pass
            if not any(r.end == now for r in running):
                break
    return starts


def _fcfs(now, queue, free, running, nodes):
    out = []
    for job in queue:
        if job.n > free:
            break
        out.append(job)
        free -= job.n
    return out


def _priority(now, queue, free, running, nodes):
    out = []
    for job in sorted(queue, key=lambda j: (-j.priority, j.submit, j.job_id)):
        if job.n > free:
            break
        out.append(job)
        free -= job.n
    return out


def _sjf(now, queue, free, running, nodes):
    out = []
    for job in sorted(queue, key=lambda j: (j.walltime, j.submit, j.job_id)):
        if job.n <= free:
            out.append(job)
            free -= job.n
    return out


def _easy(now, queue, free, running, nodes):
    out = _fcfs(now, queue, free, running, nodes)
    free -= sum(j.n for j in out)
    rest = queue[len(out) :]
    if not rest:
        return out
    head, later = rest[0], rest[1:]
    # releases by walltime: those already started and those starting in this pass
    releases = [(r.expected_end(now), r.job.n) for r in running]
    releases += [(now + j.walltime, j.n) for j in out]

    def free_at(t: float) -> int:
        return free + sum(n for end, n in releases if end <= t)

    shadow = next((t for t in sorted({e for e, _ in releases}) if free_at(t) >= head.n), INF)
    extra = free_at(shadow) - head.n if shadow < INF else 0
    for job in later:
        if job.n > free:
            continue
        if now + job.walltime <= shadow:
            out.append(job)
            free -= job.n
        elif job.n <= extra:
            out.append(job)
            free -= job.n
            extra -= job.n
    return out


def _conservative(now, queue, free, running, nodes):
    # busy intervals [start, end) of n nodes: running jobs until their expected end,
    # then the reservations made in this pass
    busy = [(now, r.expected_end(now), r.job.n) for r in running]

    def free_at(t: float) -> int:
        return nodes - sum(n for s, e, n in busy if s <= t < e)

    def fits_from(t: float, job: Job) -> bool:
        inside = [t] + [x for s, e, _ in busy for x in (s, e) if t < x < t + job.walltime]
        return all(free_at(x) >= job.n for x in inside)

    out = []
    for job in queue:
        # the earliest start is now or a time when the free nodes change
        candidates = sorted({now} | {x for s, e, _ in busy for x in (s, e) if x > now})
        t = next(t for t in candidates if fits_from(t, job))
        if t == now and job.n > free:
            # free by the walltimes, but not yet in fact (a job that started in this pass
            # with a zero walltime still holds its nodes): the next place
            # (the next time the free nodes change: none, and the job gets no reservation)
            t = next((t for t in candidates if t > now and fits_from(t, job)), INF)
        if t == now:
            out.append(job)
            free -= job.n
        if job.walltime > 0 and t < INF:
            busy.append((t, t + job.walltime, job.n))
    return out


PASSES = {
    "fcfs": _fcfs,
    "easy": _easy,
    "conservative": _conservative,
    "sjf": _sjf,
    "priority": _priority,
}


def poll_schedule(jobs: list[Job], nodes: int, interval: float = 0.5) -> dict[int, float]:
    """Start times under BenchHub's central, poll after poll."""
    pending = sorted((j for j in jobs if j.n <= nodes), key=lambda j: (j.submit, j.job_id))
    queue: list[Job] = []
    running: list[_Running] = []
    starts: dict[int, float] = {}
    k = 0
    while pending or queue:
        now = k * interval
        while pending and pending[0].submit <= now:  # arrivals and job ends come first
            queue.append(pending.pop(0))
        running = [r for r in running if r.end > now]
        if queue:
            job = queue.pop(0)
            if job.n <= nodes - sum(r.job.n for r in running):
                running.append(_Running(job, now))
                starts[job.job_id] = now
            else:
                queue.append(job)
        k += 1
    return starts
