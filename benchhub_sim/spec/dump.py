"""Write a :class:`~benchhub_sim.spec.model.JobSpec` back as plain, YAML-able data.

:func:`dump_spec` writes the later BenchHub dialect (``nodeAssignments``) plus the
simulation fields, leaving out every value equal to its default. A spec of the earlier
dialect gets a ``dialect: nodes`` key, which :func:`~benchhub_sim.spec.load.load_spec`
reads back: ``load_spec(dump_spec(spec)) == spec`` for specs of either dialect.
Names the loader would give again (``task-N`` in a stage without task pipelines,
``ready-N``, ``pipeline-N``) are left out too.
"""

from __future__ import annotations

from typing import Any

from benchhub_sim.spec.model import (
    Duration,
    JobSpec,
    NodeAssignment,
    Role,
    Selector,
    Stage,
    Task,
)

__all__ = ["dump_spec", "REQUIREMENT_KEYS", "WORKLOAD_KEYS"]

#: YAML key of a workload field -> Workload attribute
WORKLOAD_KEYS: dict[str, str] = {
    "framework": "framework",
    "frameworkVersion": "framework_version",
    "database": "database",
    "databaseVersion": "database_version",
    "name": "name",
}
#: keys of an assignment's ``requirements`` (= Requirements attributes)
REQUIREMENT_KEYS: tuple[str, ...] = ("cores", "mem_mb", "disk_mb")


def dump_spec(spec: JobSpec) -> dict[str, Any]:
    """A plain, YAML-able mapping of ``spec`` in the later dialect, defaults omitted.

    A spec of the earlier dialect gets a ``dialect: nodes`` key, so that
    ``load_spec(dump_spec(spec)) == spec`` for specs of either dialect.

    Parameters
    ----------
    spec : JobSpec

    Returns
    -------
    dict

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec
    >>> dump_spec(JobSpec("j", reason="demo"))
    {'name': 'j', 'reason': 'demo'}
    """
    out: dict[str, Any] = {"name": spec.name}
    owner = {
        k: v
        for k, v in (("id", spec.owner.id), ("name", spec.owner.name), ("type", spec.owner.type))
        if v
    }
    if owner:
        out["owner"] = owner
    w = spec.workload
    workload = {key: getattr(w, attr) for key, attr in WORKLOAD_KEYS.items() if getattr(w, attr)}
    if workload:
        out["workload"] = workload
    if spec.reason:
        out["reason"] = spec.reason
    if spec.node_assignments:
        out["nodeAssignments"] = [_dump_assignment(a) for a in spec.node_assignments]
    if spec.pipelines:
        out["pipelines"] = [
            {**({"name": p.name} if p.name != f"pipeline-{i}" else {}), "stages": list(p.stages)}
            for i, p in enumerate(spec.pipelines)
        ]
    if spec.stages:
        out["stages"] = [_dump_stage(s) for s in spec.stages]
    if spec.walltime is not None:
        out["walltime"] = spec.walltime
    if spec.priority:
        out["priority"] = spec.priority
    if spec.dialect != "nodeAssignments":
        out["dialect"] = spec.dialect
    return out


def _dump_assignment(a: NodeAssignment) -> dict[str, Any]:
    props: dict[str, Any] = {"name": a.name}
    if a.role is not Role.ANY:
        props["role"] = a.role.value
    out: dict[str, Any] = {"properties": props}
    if a.selectors:
        out["selectors"] = [_dump_selector(s) for s in a.selectors]
    if a.count != 1:
        out["count"] = a.count
    req = {k: getattr(a.requirements, k) for k in REQUIREMENT_KEYS if getattr(a.requirements, k)}
    if req:
        out["requirements"] = req
    return out


def _dump_selector(s: Selector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.name is not None:
        out["name"] = s.name
    if s.role is not None:
        out["role"] = s.role.value
    if s.labels:
        out["labels"] = dict(s.labels)
    if s.all:
        out["all"] = True
    if s.none:
        out["none"] = True
    return out


def _dump_stage(s: Stage) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name}
    if s.background:
        out["background"] = True
    if s.selectors:
        out["selectors"] = [_dump_selector(x) for x in s.selectors]
    named = bool(s.pipelines)
    out["tasks"] = [_dump_task(t, "" if named else f"task-{j}") for j, t in enumerate(s.tasks)]
    if s.pipelines:
        out["pipelines"] = [
            {**({"name": p.name} if p.name != f"pipeline-{q}" else {}), "tasks": list(p.tasks)}
            for q, p in enumerate(s.pipelines)
        ]
    return out


def _dump_task(t: Task, default_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.name != default_name:
        out["name"] = t.name
    out["driver"] = t.driver.value
    if t.shell is not None:
        out["shell"] = {"command": t.shell.command}
    if t.exec is not None:
        out["exec"] = {"command": list(t.exec.command)}
    if t.docker is not None:
        docker: dict[str, Any] = {"image": t.docker.image, "action": t.docker.action.value}
        if t.docker.ports:
            docker["ports"] = [{"guest": p.guest, "host": p.host} for p in t.docker.ports]
        if t.docker.args:
            docker["args"] = list(t.docker.args)
        out["docker"] = docker
    if t.stopper is not None:
        out["stopper"] = {"stage": t.stopper.stage}
        if t.stopper.task is not None:
            out["stopper"]["task"] = t.stopper.task
    if t.env:
        out["env"] = dict(t.env)
    if t.background:
        out["background"] = True
    checks = [_dump_task(c, f"ready-{k}") for k, c in enumerate(t.ready)]
    if t.ready_timeout is not None:
        out["ready"] = {"tasks": checks, "timeout": t.ready_timeout}
    elif checks:
        out["ready"] = checks
    if t.timeout is not None:
        out["timeout"] = t.timeout
    if t.retries:
        out["retries"] = t.retries
    if t.duration is not None:
        out["duration"] = _dump_duration(t.duration)
    if t.fail_prob:
        out["fail_prob"] = t.fail_prob
    return out


def _dump_duration(d: Duration) -> float | dict[str, Any]:
    if d.dist == "constant" and [k for k, _ in d.params] == ["value"]:
        return d.params[0][1]
    return {"dist": d.dist, **dict(d.params)}
