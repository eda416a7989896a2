"""The plan of one job: which node runs what, with every command rendered.

:func:`plan_job` does what BenchHub's planner does for a job on an idle cluster: bind
the node assignments to nodes, then expand pipelines -> stages -> the selected bound
nodes -> task pipelines -> tasks, rendering command templates (``{{.Nodes.srv.Ip}}``)
with the addresses of the bound nodes (ip where known, else the node id).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.display import html_table, plural
from benchhub_sim.errors import SpecError
from benchhub_sim.spec.model import (
    DockerPayload,
    Driver,
    JobSpec,
    Role,
    Stage,
    Task,
    effective_task_pipelines,
)


@dataclass(frozen=True)
class PlannedTask:
    """One task as it will run on one node; ``command`` is rendered.

    ``command`` is a shell string (shell), the argv ``(command, *args)`` (exec), the
    docker command line as a string (docker) or ``"stop STAGE[.TASK]"`` (stopper).
    """

    name: str
    driver: Driver
    command: str | tuple[str, ...]
    background: bool = False
    ready: tuple[PlannedTask, ...] = ()
    env: tuple[tuple[str, str], ...] = ()

    @property
    def line(self) -> str:
        """``command`` as one line: the shell command (what ``sh -c`` gets), the argv
        joined with shell quoting, the docker command line, or ``stop STAGE[.TASK]``.
        What the ``command`` column of the tasks table holds."""
        return _line(self.command)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "driver": self.driver.value,
            "command": list(self.command) if isinstance(self.command, tuple) else self.command,
            "background": self.background,
        }
        if self.env:
            out["env"] = dict(self.env)
        if self.background:
            out["ready"] = [check.to_dict() for check in self.ready]
        return out


@dataclass(frozen=True)
class PlannedTaskPipeline:
    name: str
    tasks: tuple[PlannedTask, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tasks": [t.to_dict() for t in self.tasks]}


@dataclass(frozen=True)
class PlannedNode:
    """A stage on one bound node: ``name`` is the slot's name in the job."""

    name: str
    node_id: str
    task_pipelines: tuple[PlannedTaskPipeline, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "node_id": self.node_id,
            "task_pipelines": [p.to_dict() for p in self.task_pipelines],
        }


@dataclass(frozen=True)
class PlannedStage:
    """A stage on its selected nodes; ``central``: a stage of stoppers selected by
    ``none``, which the central runs on the nodes of the stages it stops."""

    name: str
    background: bool
    nodes: tuple[PlannedNode, ...]
    central: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "background": self.background}
        if self.central:
            out["central"] = True
        out["nodes"] = [n.to_dict() for n in self.nodes]
        return out


@dataclass(frozen=True)
class PlannedPipeline:
    name: str
    stages: tuple[PlannedStage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "stages": [s.to_dict() for s in self.stages]}


@dataclass(frozen=True)
class PlannedAssignment:
    """One slot of the job bound to one node; ``match`` is ``"exact"`` or ``"any"``."""

    name: str
    role: Role
    node_id: str
    match: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "node_id": self.node_id,
            "match": self.match,
        }


@dataclass(frozen=True)
class Plan:
    """A job expanded onto nodes: what :func:`plan_job` returns."""

    job: str
    assignments: tuple[PlannedAssignment, ...]
    pipelines: tuple[PlannedPipeline, ...]

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain JSON-ready data (the shape ``benchhub-sim plan`` prints)."""
        return {
            "job": self.job,
            "assignments": [a.to_dict() for a in self.assignments],
            "pipelines": [p.to_dict() for p in self.pipelines],
        }

    def __repr__(self) -> str:
        stages = sum(len(p.stages) for p in self.pipelines)
        tasks = sum(
            len(tp.tasks)
            for p in self.pipelines
            for s in p.stages
            for n in s.nodes
            for tp in n.task_pipelines
        )
        n_nodes = len({a.node_id for a in self.assignments})
        where = plural(n_nodes, "node")
        if len(self.assignments) != n_nodes:  # loader packing: several slots on a node
            where = f"{plural(len(self.assignments), 'slot')} on {where}"
        return (
            f"<Plan {self.job}: {where}, {plural(len(self.pipelines), 'pipeline')}, "
            f"{plural(stages, 'stage')}, {plural(tasks, 'task')} on nodes>"
        )

    def grid(self) -> list[tuple[str, ...]]:
        """The node-by-stage grid: a header row (slot, role, node, then one column per
        stage as ``pipeline/stage``), then one row per bound slot whose stage cells
        name the tasks that slot runs there (``""`` where it runs nothing)."""
        columns = [(p, s) for p in self.pipelines for s in p.stages]
        header = ("slot", "role", "node", *(f"{p.name}/{s.name}" for p, s in columns))
        rows: list[tuple[str, ...]] = [header]
        for a in self.assignments:
            cells = []
            for _, stage in columns:
                names = [
                    t.name
                    for n in stage.nodes
                    if n.name == a.name
                    for tp in n.task_pipelines
                    for t in tp.tasks
                ]
                cells.append(", ".join(names))
            rows.append((a.name, a.role.value, f"{a.node_id} ({a.match})", *cells))
        return rows

    def _repr_html_(self) -> str:
        header, *rows = self.grid()
        return html_table(header, rows, caption=f"plan of job {self.job}: tasks by node and stage")

    def to_text(self) -> str:
        """An indented tree, one line per assignment, pipeline, stage, node and task."""
        lines = [f"job {self.job}", "assignments"]
        width = max((len(a.name) for a in self.assignments), default=0)
        for a in self.assignments:
            lines.append(
                f"  {a.name:<{width}}  {a.role.value:<8}  -> {a.node_id} ({a.match} match)"
            )
        for index, pipeline in enumerate(self.pipelines):
            lines.append(f"pipeline {index} {pipeline.name}")
            for stage in pipeline.stages:
                flag = " (background)" if stage.background else ""
                if stage.central:
                    flag = " (from the central, on the nodes of the stages it stops)"
                lines.append(f"  stage {stage.name}{flag}")
                for node in stage.nodes:
                    lines.append(f"    on {node.name} ({node.node_id})")
                    for tp in node.task_pipelines:
                        lines.append(f"      {tp.name}")
                        for task in tp.tasks:
                            lines.extend(_task_lines(task, "        "))
        return "\n".join(lines)


def _task_lines(task: PlannedTask, indent: str) -> list[str]:
    flag = ", background" if task.background else ""
    out = [f"{indent}{task.name} [{task.driver.value}{flag}] {task.line}"]
    for key, value in task.env:
        out.append(f"{indent}  env {key}={value}")
    for check in task.ready:
        out.extend(_task_lines(check, indent + "  ready: "))
    return out


def plan_job(
    spec: JobSpec, cluster_or_nodes: Cluster | Iterable[Node], *, quote: bool = False
) -> Plan:
    """Bind ``spec`` to nodes of an idle cluster and expand it into a :class:`Plan`.

    Parameters
    ----------
    spec : JobSpec
        A valid spec.
    cluster_or_nodes : Cluster or iterable of Node
        Every node is taken as free.
    quote : bool
        Shell-quote the addresses rendered into shell commands.

    Returns
    -------
    Plan
        Pipelines in run order; in each stage, the selected nodes in binding order; in
        each node, the stage's task pipelines (explicit, or ``autogen-N``: one per task).

    Raises
    ------
    ScheduleError
        Naming the assignment no node can serve.
    """
    from benchhub_sim.sched.assign import assign_nodes, select_bindings

    nodes = cluster_or_nodes.nodes if isinstance(cluster_or_nodes, Cluster) else cluster_or_nodes
    bindings = assign_nodes(spec, list(nodes))
    addresses: dict[str, list[str]] = {}
    for b in bindings:
        addresses.setdefault(b.slot.assignment, []).append(b.node.address)
    stages = {s.name: s for s in spec.stages}
    pipelines = []
    for pipeline in spec.effective_pipelines():
        planned_stages = []
        for name in pipeline.stages:
            stage = stages[name]
            planned_nodes = tuple(
                PlannedNode(
                    b.slot.name,
                    b.node.node_id,
                    _plan_tasks(
                        stage,
                        addresses,
                        (b.slot.name, b.node.node_id, b.node.address),
                        quote,
                    ),
                )
                for b in select_bindings(spec, stage, bindings)
            )
            planned_stages.append(
                PlannedStage(stage.name, stage.background, planned_nodes, stage.from_central)
            )
        pipelines.append(PlannedPipeline(pipeline.name, tuple(planned_stages)))
    assignments = tuple(
        PlannedAssignment(b.slot.name, b.slot.role, b.node.node_id, b.match) for b in bindings
    )
    return Plan(spec.name, assignments, tuple(pipelines))


def _plan_tasks(
    stage: Stage,
    nodes: Mapping[str, Sequence[str]],
    this: tuple[str, str, str],
    quote: bool,
) -> tuple[PlannedTaskPipeline, ...]:
    by_name = {t.name: t for t in stage.tasks}
    return tuple(
        PlannedTaskPipeline(
            tp.name, tuple(plan_task(by_name[n], nodes, this, quote) for n in tp.tasks)
        )
        for tp in effective_task_pipelines(stage)
    )


def plan_task(
    task: Task,
    nodes: Mapping[str, Sequence[str]],
    this: tuple[str, str, str] | None,
    quote: bool,
) -> PlannedTask:
    """``task`` rendered for the node ``this`` (slot name, node id, address), the job's
    assignments at ``nodes`` (name -> addresses); ``quote`` shell-quotes what is inserted
    into a shell command. Raises :class:`~benchhub_sim.errors.SpecError` for a reference
    that cannot be rendered."""
    from benchhub_sim.spec.template import render

    def r(text: str, quote_it: bool = quote) -> str:
        return render(text, nodes=nodes, this=this, quote=quote_it)

    return PlannedTask(
        name=task.name,
        driver=task.driver,
        command=_command(task, nodes, this, quote),
        background=task.background,
        ready=tuple(plan_task(check, nodes, this, quote) for check in task.ready),
        env=tuple((k, r(v, False)) for k, v in task.env),
    )


def _command(
    task: Task,
    nodes: Mapping[str, Sequence[str]],
    this: tuple[str, str, str] | None,
    quote: bool,
) -> str | tuple[str, ...]:
    """The command of ``task`` (:attr:`PlannedTask.command`), rendered as :func:`plan_task`
    says."""
    from benchhub_sim.spec.template import render

    def r(text: str, quote_it: bool = quote) -> str:
        return render(text, nodes=nodes, this=this, quote=quote_it)

    if task.driver is Driver.SHELL:
        return r(task.shell.command) if task.shell else ""
    if task.driver is Driver.EXEC:
        # argv entries reach the program unquoted: no shell reads them
        return tuple(r(arg, False) for arg in task.exec.argv) if task.exec else ()
    if task.driver is Driver.DOCKER:
        return _docker_command(task.docker, lambda text: r(text, False)) if task.docker else ""
    stop = task.stopper
    target = (
        "" if stop is None else stop.stage if stop.task is None else f"{stop.stage}.{stop.task}"
    )
    return f"stop {target}".rstrip()


def _line(command: str | tuple[str, ...]) -> str:
    """A task's command as one line (:attr:`PlannedTask.line`)."""
    return shlex.join(command) if isinstance(command, tuple) else command


def command_line(
    task: Task,
    nodes: Mapping[str, Sequence[str]],
    this: tuple[str, str, str] | None,
    quote: bool,
) -> str:
    """The command line (:attr:`PlannedTask.line`) of ``task`` rendered as :func:`plan_task`
    renders it, without rendering its env or its readiness checks."""
    return _line(_command(task, nodes, this, quote))


def static_command(task: Task) -> str | None:
    """The command line of ``task`` when it names no node (no template in it), else None:
    it is then rendered per node it runs on (:func:`command_line`).

    Examples
    --------
    >>> from benchhub_sim.spec.model import ShellPayload
    >>> static_command(Task("t", shell=ShellPayload("echo hi")))
    'echo hi'
    >>> static_command(Task("t", shell=ShellPayload("ping {{.Node.Ip}}"))) is None
    True
    """
    try:
        return command_line(task, {}, None, True)
    except SpecError:
        return None


def _docker_command(docker: DockerPayload, render: Any) -> str:
    """The docker CLI line: ``docker pull IMAGE``, ``docker run -p H:G IMAGE ARGS``, ..."""
    image = render(docker.image)
    args = [render(a) for a in docker.args]
    if docker.action.value == "run":
        # host port 0 (also when not given): docker publishes on a free host port
        ports = [
            x
            for p in docker.ports
            for x in ("-p", f"{p.host}:{p.guest}" if p.host else str(p.guest))
        ]
        argv = ["docker", "run", *ports, image, *args]
    elif docker.action.value == "build":
        argv = ["docker", "build", "-t", image, *(args or ["."])]
    else:
        argv = ["docker", "pull", image, *args]
    return shlex.join(argv)
