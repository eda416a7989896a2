"""What queue policies see: the view of the central (its queue, its nodes) and a job.

A policy is any callable ``policy(view) -> None`` that calls ``view.try_start(job)`` for
the jobs it wants to start, in the order it wants them started (see
:mod:`benchhub_sim.sched.policies`). A job exposes ``job_id``, ``submit``, ``walltime``
(the estimate), ``priority``, ``n_nodes`` and, when running, ``start`` and
``expected_end`` (``start + walltime``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class SchedulerView(Protocol):
    """The view every policy may use.

    - ``now``: the current time;
    - ``queued()``: queued jobs in queue order (submit order; safe to iterate while
      starting jobs);
    - ``free_count()`` and ``total_nodes``: free and online nodes;
    - ``running()``: running jobs;
    - ``try_start(job) -> bool``: bind the job's nodes now and start it, or return False
      when its assignments cannot all be met by the free nodes (never when it needs more
      nodes than are free, and maybe for its roles when it needs fewer).
    """

    now: float
    total_nodes: int

    def queued(self) -> Iterator[Any]: ...

    def free_count(self) -> int: ...

    def running(self) -> Iterable[Any]: ...

    def try_start(self, job: Any) -> bool: ...


class IncrementalView(SchedulerView, Protocol):
    """What the engine's views add so the built-in policies can skip work.

    ``version`` changes whenever a job starts or ends, a node fails or recovers, or a
    queued job leaves or moves; it goes up by exactly one for each job the policy's own
    ``try_start`` starts (and nothing else happens inside a policy call: a job that has
    nothing to run ends at an event of its own). ``queue_mark()`` marks the end of the
    queue now and ``queued_since(mark)`` gives the jobs queued after it; a queued job
    carries its rank in queue order as ``qseq`` (a job pushed to the back gets a new
    one). ``memo`` keeps what a pass leaves for the next; set it to None and every pass
    is a full pass by the plain rule (the switch the equivalence tests use).
    """

    version: int
    memo: dict[str, Any] | None

    def queue_mark(self) -> int: ...

    def queued_since(self, mark: int) -> Iterable[Any]: ...


Policy = Callable[[SchedulerView], None]
