"""What the engine consumes: a stream of job requests, in submit order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from benchhub_sim.spec.model import JobSpec

#: node name in ``JobRequest.durations`` keys that stands for every node of a stage
ALL_NODES = "*"


@dataclass(frozen=True, init=False)
class JobRequest:
    """One job submitted to the central.

    Parameters
    ----------
    spec : JobSpec
        What to run. Many requests may share one spec object (the engine compiles each
        distinct spec once).
    submit : float
        Submit time in seconds on the run's clock.
    job_id : int, optional
        Keep an id from a trace or a recorded run; by default jobs are numbered 0, 1, ...
        in submit order.
    priority, walltime : float, optional
        Override the spec's values (a trace's requested time, a replay's recorded estimate).
    durations : mapping, optional
        Observed task durations keyed ``(stage_name, node_name, task_name)``, where the
        node name :data:`ALL_NODES` (``"*"``) stands for every node of the stage, or
        ``(stage_name, node_name, task_name, attempt)`` for one attempt; a replay
        uses them instead of the spec's distributions.
    ready_delays : mapping, optional
        Observed readiness delays of background tasks, same keys.
    bind_to : tuple of str, optional
        Node ids, one per slot of the spec (in slot order): the job starts on these
        nodes the moment it is submitted, before any policy pass (a warm-started replay
        keeps the jobs that were running on their nodes).
    """

    spec: JobSpec
    submit: float = 0.0
    job_id: int | None = None
    priority: float | None = None
    walltime: float | None = None
    durations: Mapping[tuple[Any, ...], float] | None = None
    ready_delays: Mapping[tuple[Any, ...], float] | None = None
    bind_to: tuple[str, ...] | None = None

    def __init__(
        self,
        spec: JobSpec,
        submit: float = 0.0,
        job_id: int | None = None,
        priority: float | None = None,
        walltime: float | None = None,
        durations: Mapping[tuple[Any, ...], float] | None = None,
        ready_delays: Mapping[tuple[Any, ...], float] | None = None,
        bind_to: tuple[str, ...] | None = None,
    ) -> None:
        # what the generated __init__ of a frozen dataclass does, without its eight
        # object.__setattr__ calls: workloads make millions of requests (2x faster)
        self.__dict__.update(
            spec=spec, submit=submit, job_id=job_id, priority=priority, walltime=walltime,
            durations=durations, ready_delays=ready_delays, bind_to=bind_to,
        )  # fmt: skip
