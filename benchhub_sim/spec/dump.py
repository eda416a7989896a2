"""Write a :class:`~benchhub_sim.spec.model.JobSpec` back as plain, YAML-able data.

:func:`dump_spec` writes a spec in the form of its own dialect, plus the simulation
fields, leaving out every value equal to its default:

============================  =================================================================
``nodeAssignments``           types.proto: ``properties: {name, role}``, ``background``,
                              ``ready: {tasks}``
``job-v2.1``                  job-v2.1.md: flat ``{name, role}``, stage ``type``, task
                              ``longRunning``, docker ``action: start``
``nodes``                     the earlier form: ``nodes: [{name, type}]``, selectors
                              ``{type}``, top-level ``framework``/``database``, ``ready`` a list
============================  =================================================================

``env`` and ``labels`` are written as types.proto's ``[{k, v}]`` lists and ``exec`` as
``{command, args}`` in every dialect. ``load_spec(dump_spec(spec)) == spec`` for specs of
every dialect. Names the loader would give again (``task-N`` in a stage without task
pipelines, ``ready-N``, ``pipeline-N``) are left out too.
"""

from __future__ import annotations

from typing import Any

from benchhub_sim.spec.model import (
    DockerAction,
    Driver,
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
    """A plain, YAML-able mapping of ``spec`` in its dialect's form, defaults omitted.

    Parameters
    ----------
    spec : JobSpec

    Returns
    -------
    dict
        ``load_spec(dump_spec(spec)) == spec``.

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec, NodeAssignment, Role
    >>> db = (NodeAssignment("db", Role.DATABASE),)
    >>> dump_spec(JobSpec("j", node_assignments=db))
    {'name': 'j', 'nodeAssignments': [{'properties': {'name': 'db', 'role': 'database'}}]}
    >>> dump_spec(JobSpec("j", node_assignments=db, dialect="job-v2.1"))
    {'name': 'j', 'nodeAssignments': [{'name': 'db', 'role': 'database'}]}
    >>> dump_spec(JobSpec("j", node_assignments=db, dialect="nodes"))
    {'name': 'j', 'nodes': [{'name': 'db', 'type': 'database'}]}
    """
    dialect = spec.dialect
    out: dict[str, Any] = {"name": spec.name}
    if spec.id:
        out["id"] = spec.id
    owner = {k: v for k, v in (("id", spec.owner.id), ("name", spec.owner.name)) if v}
    if spec.owner.type is not None:
        owner["type"] = spec.owner.type.value
    if owner:
        out["owner"] = owner
    w = spec.workload
    workload = {key: getattr(w, attr) for key, attr in WORKLOAD_KEYS.items() if getattr(w, attr)}
    if dialect == "nodes":
        # top-level framework/database and ``workload: NAME``, as xephonb-kairosdb.yml
        out.update({k: v for k, v in workload.items() if k != "name"})
        if w.name:
            out["workload"] = w.name
    elif workload:
        out["workload"] = workload
    if spec.reason:
        out["reason"] = spec.reason
    if spec.node_assignments:
        key = "nodes" if dialect == "nodes" else "nodeAssignments"
        out[key] = [_dump_assignment(a, dialect) for a in spec.node_assignments]
    if spec.pipelines:
        out["pipelines"] = [
            {**({"name": p.name} if p.name != f"pipeline-{i}" else {}), "stages": list(p.stages)}
            for i, p in enumerate(spec.pipelines)
        ]
    if spec.stages:
        out["stages"] = [_dump_stage(s, dialect) for s in spec.stages]
    if spec.walltime is not None:
        out["walltime"] = spec.walltime
    if spec.priority:
        out["priority"] = spec.priority
    if dialect not in ("nodeAssignments", "nodes", "job-v2.1"):
        out["dialect"] = dialect  # e.g. the generated specs of SWF traces
    return out


def _dump_assignment(a: NodeAssignment, dialect: str) -> dict[str, Any]:
    props: dict[str, Any] = {"name": a.name}
    if a.role is not Role.ANY:
        props["role" if dialect != "nodes" else "type"] = a.role.value
    out: dict[str, Any] = dict(props) if dialect != "nodeAssignments" else {"properties": props}
    if a.selectors:
        out["selectors"] = [_dump_selector(s, dialect) for s in a.selectors]
    if a.count != 1:
        out["count"] = a.count
    req = {k: getattr(a.requirements, k) for k in REQUIREMENT_KEYS if getattr(a.requirements, k)}
    if req:
        out["requirements"] = req
    return out


def _dump_selector(s: Selector, dialect: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.name is not None:
        out["name"] = s.name
    if s.role is not None:
        out["type" if dialect == "nodes" else "role"] = s.role.value
    if s.labels:
        out["labels"] = _pairs(s.labels)
    if s.all:
        out["all"] = True
    if s.none:
        out["none"] = True
    return out


def _pairs(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    """types.proto's ``repeated Env`` / ``repeated Label``: ``[{k, v}]``."""
    return [{"k": k, "v": v} for k, v in pairs]


def _dump_stage(s: Stage, dialect: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name}
    if dialect == "job-v2.1":
        if s.background:
            out["type"] = "long running"
        elif s.tasks and all(t.driver is Driver.STOPPER for t in s.tasks):
            out["type"] = "stopper"
    elif s.background:
        out["background"] = True
    if s.selectors:
        out["selectors"] = [_dump_selector(x, dialect) for x in s.selectors]
    named = bool(s.pipelines)
    out["tasks"] = [
        _dump_task(t, "" if named else f"task-{j}", dialect) for j, t in enumerate(s.tasks)
    ]
    if s.pipelines:
        out["pipelines"] = [
            {**({"name": p.name} if p.name != f"pipeline-{q}" else {}), "tasks": list(p.tasks)}
            for q, p in enumerate(s.pipelines)
        ]
    return out


def _dump_task(t: Task, default_name: str, dialect: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.name != default_name:
        out["name"] = t.name
    out["driver"] = t.driver.value
    if t.shell is not None:
        out["shell"] = {"command": t.shell.command}
    if t.exec is not None:
        out["exec"] = {"command": t.exec.command}
        if t.exec.args:
            out["exec"]["args"] = list(t.exec.args)
    if t.docker is not None:
        action = t.docker.action.value
        if dialect == "job-v2.1" and t.docker.action is DockerAction.RUN:
            action = "start"  # job-v2.1.md: action enum # pull, start
        docker: dict[str, Any] = {"image": t.docker.image, "action": action}
        if t.docker.ports:
            docker["ports"] = [{"guest": p.guest, "host": p.host} for p in t.docker.ports]
        if t.docker.args:
            docker["args"] = list(t.docker.args)
        out["docker"] = docker
    if t.stopper is not None:
        out["stopper"] = {"stage": t.stopper.stage}
        if t.stopper.task is not None:
            out["stopper"]["task"] = t.stopper.task
        if t.stopper.all:
            out["stopper"]["all"] = True
    if t.env:
        out["env"] = _pairs(t.env)
    if t.background:
        out["longRunning" if dialect == "job-v2.1" else "background"] = True
    checks = [_dump_task(c, f"ready-{k}", dialect) for k, c in enumerate(t.ready)]
    if t.ready_timeout is not None:
        out["ready"] = {"tasks": checks, "timeout": t.ready_timeout}
    elif checks:
        out["ready"] = checks if dialect == "nodes" else {"tasks": checks}
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
