"""What a backfilling pass leaves for the next when only submissions happen in between.

A pass that started nothing after it made its reservations leaves its state; if the next
pass finds the view unchanged but for new jobs (:func:`unchanged`), every job the last
pass examined gets the same answer again and only the new ones are looked at. Used by
:func:`~benchhub_sim.sched.easy.easy` and
:func:`~benchhub_sim.sched.conservative.conservative` when the view is incremental
(:class:`~benchhub_sim.sched.view.IncrementalView`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchhub_sim.sched.view import SchedulerView


@dataclass(frozen=True)
class Unchanged:
    """What a pass leaves for the next when it started nothing after its reservations.

    If the next pass finds the same ``version`` of the view (no job started or ended,
    no node failed or came back, no queued job left) and no running job has reached its
    walltime (``now < stable_until``), every job the pass examined gets the same
    answer again: free nodes and reservations are the same, and a job that could not
    end before a reservation cannot now. Only jobs queued from ``mark`` on are new.
    """

    version: int
    mark: int
    stable_until: float
    state: Any

    def replace(self, mark: int) -> Unchanged:
        return Unchanged(self.version, mark, self.stable_until, self.state)


def version(view: SchedulerView) -> int | None:
    """The view's version, or None for a view that has none."""
    return getattr(view, "version", None)


def mark(view: SchedulerView) -> int | None:
    """The view's queue mark now, or None for a view that has none."""
    queue_mark = getattr(view, "queue_mark", None)
    return queue_mark() if queue_mark is not None else None


def unchanged(view: SchedulerView, key: str) -> Unchanged | None:
    """The state the last pass of policy ``key`` left, if it still holds."""
    memo = getattr(view, "memo", None)
    last = memo.pop(key, None) if memo is not None else None
    if last is None or last.version != version(view) or not view.now < last.stable_until:
        return None
    return last


def remember(view: SchedulerView, key: str, state: Unchanged, *, started: bool) -> None:
    """Keep ``state`` for the next pass of policy ``key`` unless the pass ``started``
    a job after its reservations (or the view keeps no memo)."""
    memo = getattr(view, "memo", None)
    if memo is not None and not started and state.mark is not None:
        memo[key] = state
