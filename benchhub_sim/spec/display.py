"""How a job spec reads: one line for ``repr``, its pipelines -> stages -> tasks as HTML."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

from benchhub_sim.display import html_table, plural

if TYPE_CHECKING:
    from benchhub_sim.spec.model import JobSpec, Selector, Task

#: longest command shown in a table cell
_COMMAND_WIDTH = 60


def spec_repr(spec: JobSpec) -> str:
    """``<JobSpec db-loaders: 2 assignments (4 nodes), 4 pipelines, 5 stages, 5 tasks>``."""
    nodes = sum(a.count for a in spec.node_assignments)
    tasks = sum(len(s.tasks) for s in spec.stages)
    return (
        f"<JobSpec {spec.name}: {plural(len(spec.node_assignments), 'assignment')} "
        f"({plural(nodes, 'node')}), {plural(len(spec.effective_pipelines()), 'pipeline')}, "
        f"{plural(len(spec.stages), 'stage')}, {plural(tasks, 'task')}>"
    )


def selectors_text(selectors: tuple[Selector, ...], roles: Mapping[str, str] | None = None) -> str:
    """``"db or role loader"``: which assigned nodes a stage runs on (OR between selectors).

    With ``roles`` (the role of each assignment, by name), a name shows its role:
    ``"db (database)"``.
    """
    parts = []
    for s in selectors:
        bits = []
        if s.all:
            bits.append("all")
        if s.none:
            bits.append("none")
        if s.name is not None:
            role = (roles or {}).get(s.name)
            bits.append(f"{s.name} ({role})" if role else s.name)
        if s.role is not None:
            bits.append(f"role {s.role.value}")
        bits.extend(f"{k}={v}" for k, v in s.labels)
        parts.append(" and ".join(bits) or "all")
    return " or ".join(parts) or "no node"  # no selector selects nothing


def task_command(task: Task) -> str:
    """What a task runs, unrendered and cut to a table cell's width."""
    if task.shell is not None:
        text = task.shell.command
    elif task.exec is not None:
        text = shlex.join(task.exec.argv)
    elif task.docker is not None:
        text = f"docker {task.docker.action.value} {task.docker.image}"
    elif task.stopper is not None:
        stop = task.stopper
        text = f"stop {stop.stage}" + (f".{stop.task}" if stop.task else "")
    else:
        text = ""
    text = " ".join(text.split())
    return text if len(text) <= _COMMAND_WIDTH else text[: _COMMAND_WIDTH - 1] + "…"


def spec_html(spec: JobSpec) -> str:
    """The spec as a table: one row per task, in run order (pipelines, stages, tasks)."""
    assignments = ", ".join(
        f"{a.name}: {a.count} x {a.role.value}" if a.count > 1 else f"{a.name}: {a.role.value}"
        for a in spec.node_assignments
    )
    roles = {a.name: a.role.value for a in spec.node_assignments}
    rows = []
    for pipeline in spec.effective_pipelines():
        first_of_pipeline = True
        for name in pipeline.stages:
            stage = spec.stage(name)
            kind = "background" if stage.background else ""
            for i, task in enumerate(stage.tasks or (None,)):
                duration = ""
                if task is not None and task.duration is not None:
                    duration = f"{task.duration.mean:,.4g}"
                flags = []
                if task is not None and task.background:
                    flags.append("background")
                if task is not None and task.ready:
                    flags.append(f"ready: {', '.join(c.name for c in task.ready)}")
                if task is not None and task.retries:
                    flags.append(f"retries {task.retries}")
                rows.append(
                    (
                        pipeline.name if first_of_pipeline else "",
                        (f"{stage.name} ({kind})" if kind else stage.name) if i == 0 else "",
                        selectors_text(stage.selectors, roles) if i == 0 else "",
                        task.name if task is not None else "",
                        task.driver.value if task is not None else "",
                        task_command(task) if task is not None else "",
                        "; ".join(flags),
                        duration,
                    )
                )
                first_of_pipeline = False
    header = ["pipeline", "stage", "runs on", "task", "driver", "command", "", "mean (s)"]
    caption = f"job {spec.name} — nodes {assignments}" if assignments else f"job {spec.name}"
    return html_table(header, rows, caption=caption, numeric=[False] * 7 + [True])
