"""Small spec builders shared by the engine tests."""

from __future__ import annotations

from benchhub_sim.spec.model import (
    Duration,
    JobSpec,
    NodeAssignment,
    Selector,
    ShellPayload,
    Stage,
    Task,
)


def one_task(
    n: int,
    duration: float | Duration,
    *,
    walltime: float | None = None,
    name: str | None = None,
    **task: object,
) -> JobSpec:
    """A job of ``n`` nodes of role any running one task of ``duration`` on each."""
    d = duration if isinstance(duration, Duration) else Duration.constant(duration)
    if walltime is None and d.dist == "constant":
        walltime = d.mean
    return JobSpec(
        name or f"n{n}",
        node_assignments=(NodeAssignment("w", count=n),),
        stages=(
            Stage(
                "run",
                selectors=(Selector(all=True),),
                tasks=(Task("t", shell=ShellPayload("true"), duration=d, **task),),
            ),
        ),  # type: ignore[arg-type]
        walltime=walltime,
    )


def no_units(n: int, name: str = "nothing") -> JobSpec:
    """A job of ``n`` nodes whose only stage selects a label no node has: it has nothing
    to run, and ends the instant it starts."""
    return JobSpec(
        name,
        node_assignments=(NodeAssignment("w", count=n),),
        stages=(
            Stage(
                "s",
                selectors=(Selector(labels=(("disk", "none"),)),),
                tasks=(Task("t", shell=ShellPayload("true")),),
            ),
        ),
    )
