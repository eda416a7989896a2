"""*sim* Walltime estimate of a job spec: the critical path of its duration means.

Backfilling policies need a walltime for every job; a spec that gives none gets
:func:`estimate_walltime`. The estimate follows the execution semantics:

- pipelines run in sequence: their times add up;
- a pipeline lasts as long as its longest stage;
- a stage runs the same task pipelines on each of its nodes, in sequence: their times add;
- a task pipeline lasts as long as its longest task;
- a foreground task counts its duration's mean (``default_task_duration`` without one);
- a background task counts only its readiness checks (in sequence), since the next
  pipeline waits for *ready*, not for the end.
"""

from __future__ import annotations

from benchhub_sim.spec.model import JobSpec, Stage, Task, effective_task_pipelines

__all__ = ["estimate_walltime", "stage_time", "task_time"]


def task_time(task: Task, default_task_duration: float = 1.0) -> float:
    """Expected seconds until ``task`` lets its task pipeline go on.

    Parameters
    ----------
    task : Task
    default_task_duration : float, default 1.0
        Seconds assumed for a task (or readiness check) without a ``duration``.

    Returns
    -------
    float
        The duration mean of a foreground task; the sum over the readiness checks of a
        background one (0 without checks).
    """
    if task.background:
        return sum(task_time(check, default_task_duration) for check in task.ready)
    return task.duration.mean if task.duration is not None else default_task_duration


def stage_time(stage: Stage, default_task_duration: float = 1.0) -> float:
    """Expected seconds until ``stage`` is finished (foreground) or ready (background).

    Parameters
    ----------
    stage : Stage
    default_task_duration : float, default 1.0

    Returns
    -------
    float
    """
    by_name = {t.name: t for t in stage.tasks}
    total = 0.0
    for pipe in effective_task_pipelines(stage):
        times = [task_time(by_name[n], default_task_duration) for n in pipe.tasks if n in by_name]
        total += max(times, default=0.0)
    return total


def estimate_walltime(spec: JobSpec, default_task_duration: float = 1.0) -> float:
    """Critical-path estimate of ``spec``'s run time, in seconds.

    Parameters
    ----------
    spec : JobSpec
    default_task_duration : float, default 1.0
        Seconds assumed for a task without a ``duration``.

    Returns
    -------
    float

    Examples
    --------
    >>> from benchhub_sim.spec.model import Duration, Stage, Task
    >>> t = Task("t", duration=Duration.constant(3))
    >>> estimate_walltime(JobSpec("j", stages=(Stage("a", tasks=(t, t)), Stage("b", tasks=(t,)))))
    9.0
    """
    stages = {s.name: s for s in spec.stages}
    total = 0.0
    for pipe in spec.effective_pipelines():
        times = [stage_time(stages[n], default_task_duration) for n in pipe.stages if n in stages]
        total += max(times, default=0.0)
    return total
