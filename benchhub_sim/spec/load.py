"""Load BenchHub job specs (three dialects) into :class:`~benchhub_sim.spec.model.JobSpec`.

Loading is PyYAML's safe loading, keeping each value's line
(:func:`~benchhub_sim.spec.read.parse_yaml`). The plain data is then read into the
dataclasses (type problems are collected on the way, by the readers of
:mod:`benchhub_sim.spec.read`) and checked by :mod:`benchhub_sim.spec.validate`. Every
problem is collected before one :class:`~benchhub_sim.errors.SpecError` is raised.

Dialects
--------
Three forms of a BenchHub job exist in its files and docs, and all load:

``nodeAssignments`` (types.proto, ``pingpong.yml``)
    ``nodeAssignments: [{selectors, properties: {name, role}}]``, ``workload`` a mapping.
``job-v2.1`` (job-v2.1.md)
    flat ``nodeAssignments: [{name, role, selectors}]``, stage ``type`` (``short
    running``, ``long running``, ``stopper``) and task ``longRunning``.
``nodes`` (earlier BenchHub, ``xephonb-kairosdb.yml``)
    ``nodes: [{name, type}]`` where ``type`` is the role, stage selectors
    ``{type: ROLE}``, top-level ``framework``/``database``/``reason`` and ``workload``
    a plain string.

The dialect is told by the keys present: ``nodes``; else the form of the first node
assignment (``properties`` or flat ``name``/``role``); else top-level
``framework``/``database`` or a string ``workload`` (earlier), a stage ``type`` or a
task ``longRunning`` (job-v2.1). The keys of one form are read in the others too
(``background`` and ``longRunning``, ``background`` and stage ``type``, either form of
an assignment), so a file that mixes them loads; :func:`dump_spec` writes each spec in
the form of its dialect, and ``load_spec(dump_spec(s)) == s``. (Older versions wrote
the earlier dialect as ``nodeAssignments`` plus ``dialect: nodes``: that loads too.)

Every field shape of types.proto loads: ``env`` and ``labels`` as ``[{k, v}]`` lists
(or mappings), ``exec: {command, args}`` (or an argv list), stopper ``all``, ``none``
selectors, job ``id``, ``owner.type`` (``user``/``org`` in any case, or
``UNKNOWN_OWNER``), docker ``action`` as a name (``pull``, ``run`` or job-v2.1.md's
``start``, the package's ``build``) or as the integer Go decodes (1 pull, 2 run), and
``ports`` entries whose ``guest``/``host`` default to 0.

The text a spec was loaded from is kept verbatim as :attr:`JobSpec.source`. A job
without ``name`` is named after its file's stem (BenchHub does not require a name).

Names given by the loader
-------------------------
Unnamed tasks are ``task-N`` (N = index in the stage), unnamed readiness checks
``ready-N``, unnamed stage pipelines and task pipelines ``pipeline-N``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchhub_sim.errors import Problem, SpecError
from benchhub_sim.spec import read
from benchhub_sim.spec.dump import REQUIREMENT_KEYS, WORKLOAD_KEYS, dump_spec
from benchhub_sim.spec.model import (
    DISTRIBUTIONS,
    DockerAction,
    DockerPayload,
    DockerPort,
    Driver,
    Duration,
    ExecPayload,
    JobSpec,
    NodeAssignment,
    Owner,
    OwnerType,
    Requirements,
    Role,
    Selector,
    ShellPayload,
    Stage,
    StagePipeline,
    StopperPayload,
    Task,
    TaskPipeline,
    Workload,
    with_source,
)
from benchhub_sim.spec.read import parse_yaml
from benchhub_sim.spec.validate import DocPath, Locator, check_spec, did_you_mean

__all__ = ["load_spec", "dump_spec", "parse_yaml"]

# --------------------------------------------------------------------------- sources


def load_spec(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    name_hint: str | None = None,
    default_name: str | None = None,
) -> JobSpec:
    """Load, check and return one job spec.

    Parameters
    ----------
    source : str, path-like or mapping
        A path (a path-like, or a str ending in ``.yml``/``.yaml`` or naming an
        existing file), YAML text (a str containing a newline or ``:``), or an already
        parsed mapping (e.g. from :func:`dump_spec`).
    name_hint : str, optional
        Name shown in front of problems instead of the file name (for text and mappings,
        which otherwise show ``<string>`` / ``<input>``).
    default_name : str, optional
        The job's name when the spec gives none; for a file, by default, its stem.

    Returns
    -------
    JobSpec
        Loaded from a file or text, its :attr:`~JobSpec.source` is that text, verbatim
        (the file's bytes, decoded as UTF-8, line endings kept).

    Raises
    ------
    SpecError
        Listing every problem, each as ``file:line: path: message``; also for a YAML
        syntax error and for a missing file.

    Examples
    --------
    >>> spec = load_spec('''
    ... name: hello
    ... nodeAssignments:
    ...   - properties: {name: one, role: loader}
    ... stages:
    ...   - name: greet
    ...     selectors: [{name: one}]
    ...     tasks: [{driver: exec, exec: {command: echo, args: [hi, there]}}]
    ... ''')
    >>> spec.stages[0].tasks[0].exec.argv, spec.node_assignments[0].role
    (('echo', 'hi', 'there'), <Role.LOADER: 'loader'>)
    """
    if isinstance(source, Mapping):
        return _load_data(_plain(source), Locator(where=name_hint or ""), default_name)
    if isinstance(source, str) and _looks_like_text(source):
        return _load_text(source, name_hint or "<string>", default_name)
    path = Path(source)
    where = name_hint or str(source)
    try:
        # bytes, not read_text: the text is kept verbatim, \r\n and all
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(where, None, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(where, None, "", f"cannot read the file: {exc}")]) from None
    return _load_text(text, where, default_name if default_name is not None else path.stem)


def _plain(value: Any) -> Any:
    """Mappings as dicts and tuples as lists, as YAML would give them."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _looks_like_text(source: str) -> bool:
    if "\n" in source:
        return True
    if source.lower().endswith((".yml", ".yaml")) or os.path.exists(source):
        return False
    return ":" in source


def _load_text(text: str, where: str, default_name: str | None) -> JobSpec:
    loc = Locator(where=where)
    data = parse_yaml(text, loc)
    return with_source(_load_data(data, loc, default_name), text)


def _load_data(data: Any, loc: Locator, default_name: str | None) -> JobSpec:
    spec = _job(data, loc, default_name)
    rules = Locator(where=loc.where, lines=loc.lines, renames=loc.renames, unnamed=loc.unnamed)
    check_spec(spec, rules)
    for problem, path in zip(rules.problems, rules.problem_paths, strict=True):
        if not _is_consequence(path, loc):
            loc.problems.append(problem)
    if loc.problems:
        raise SpecError(loc.sorted_problems())
    return spec


def _is_consequence(path: DocPath, loc: Locator) -> bool:
    """Whether a broken rule at ``path`` most likely follows from a reading problem.

    A misspelled ``selelectors`` leaves the stage without selectors, so "selects no node"
    would only repeat it. Such a rule is dropped when it lies inside a value that could
    not be read, or sits on an object that has a reading problem and is about the object
    itself or one of its keys that the document does not give. Rules about keys the
    document does give are still reported.
    """
    for cause in loc.problem_paths:
        if path[: len(cause)] == cause:
            return True
        parent = cause[:-1]
        if path[: len(parent)] == parent and (
            len(path) == len(parent) or parent + (path[len(parent)],) not in loc.lines
        ):
            return True
    return False


# --------------------------------------------------------------------------- job

_COMMON_KEYS = (
    "id",
    "name",
    "owner",
    "pipelines",
    "stages",
    "reason",
    "walltime",
    "priority",
    "dialect",
)
_LATER_KEYS = (*_COMMON_KEYS, "workload", "nodeAssignments")
_EARLIER_KEYS = (
    *_COMMON_KEYS,
    "workload",
    "framework",
    "frameworkVersion",
    "database",
    "databaseVersion",
    "nodes",
)
_EARLIER_MARKS = ("framework", "frameworkVersion", "database", "databaseVersion")


def _structure(data: Mapping[str, Any], loc: Locator) -> str:
    """The dialect the document is written in (see the module docstring)."""
    if "nodes" in data and "nodeAssignments" in data:
        loc.add(
            ("nodes",), "both 'nodes' (earlier dialect) and 'nodeAssignments' given: expected one"
        )
        return "nodeAssignments"
    if "nodes" in data:
        return "nodes"
    entries = data.get("nodeAssignments")
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and "properties" in entry:
            return "nodeAssignments"
        if isinstance(entry, dict) and ("name" in entry or "role" in entry):
            return "job-v2.1"
    if "nodeAssignments" not in data and (
        any(k in data for k in _EARLIER_MARKS) or isinstance(data.get("workload"), str)
    ):
        return "nodes"
    stages = data.get("stages")
    for stage in stages if isinstance(stages, list) else ():
        tasks = stage.get("tasks") if isinstance(stage, dict) else None
        if isinstance(stage, dict) and "type" in stage:
            return "job-v2.1"
        if isinstance(tasks, list) and any(
            isinstance(t, dict) and "longRunning" in t for t in tasks
        ):
            return "job-v2.1"
    return "nodeAssignments"


def _job(data: Any, loc: Locator, default_name: str | None) -> JobSpec:
    if not isinstance(data, dict):
        loc.add((), f"expected a job spec (a mapping), found {read.kind(data)}")
        return JobSpec(name="")
    structure = _structure(data, loc)
    earlier = structure == "nodes"
    d = read.mapping(data, (), loc, "a job spec", _EARLIER_KEYS if earlier else _LATER_KEYS)
    dialect = structure
    if "dialect" in d:  # written by older versions of dump_spec
        dialect = read.string(d["dialect"], ("dialect",), loc)
    if earlier:
        workload = _earlier_workload(d, loc)
        assignments = read.items(
            d.get("nodes"), ("nodes",), loc, "nodes", lambda v, p, k: _node(v, p, k, loc)
        )
    else:
        workload = (
            _workload(d.get("workload"), ("workload",), loc) if "workload" in d else Workload()
        )
        assignments = read.items(
            d.get("nodeAssignments"),
            ("nodeAssignments",),
            loc,
            "node assignments",
            lambda v, p, _k: _assignment(v, p, loc),
        )
    stages = read.items(
        d.get("stages"), ("stages",), loc, "stages", lambda v, p, k: _stage(v, p, k, loc, earlier)
    )
    pipelines = read.items(
        d.get("pipelines"),
        ("pipelines",),
        loc,
        "pipelines",
        lambda v, p, k: _stage_pipeline(v, p, k, loc),
    )
    return JobSpec(
        name=read.string(d["name"], ("name",), loc, coerce=True)
        if "name" in d
        else default_name or "",
        owner=_owner(d["owner"], ("owner",), loc) if "owner" in d else Owner(),
        workload=workload,
        node_assignments=assignments,
        pipelines=pipelines,
        stages=stages,
        reason=read.string(d["reason"], ("reason",), loc) if "reason" in d else "",
        walltime=read.number(d["walltime"], ("walltime",), loc)
        if d.get("walltime") is not None
        else None,
        priority=read.number(d["priority"], ("priority",), loc) if "priority" in d else 0.0,
        dialect=dialect,
        id=read.string(d["id"], ("id",), loc, coerce=True) if "id" in d else "",
    )


def _owner(value: Any, path: DocPath, loc: Locator) -> Owner:
    d = read.mapping(value, path, loc, "an owner", ("id", "name", "type"))
    kind = d.get("type")
    return Owner(
        id=read.string(d["id"], path + ("id",), loc, coerce=True) if "id" in d else "",
        name=read.string(d["name"], path + ("name",), loc, coerce=True) if "name" in d else "",
        # BenchHub's UNKNOWN_OWNER (its value when the type is not given) is None here
        type=None
        if kind in (None, "") or (isinstance(kind, str) and kind.lower() == "unknown_owner")
        else read.choice(OwnerType, kind, path + ("type",), loc, OwnerType.USER),
    )


def _workload(value: Any, path: DocPath, loc: Locator) -> Workload:
    d = read.mapping(value, path, loc, "a workload", WORKLOAD_KEYS)
    return Workload(
        **{WORKLOAD_KEYS[k]: read.string(v, path + (k,), loc, coerce=True) for k, v in d.items()}
    )


def _earlier_workload(d: Mapping[str, Any], loc: Locator) -> Workload:
    value = d.get("workload")
    if isinstance(value, dict):
        workload = _workload(value, ("workload",), loc)
    elif value is not None:
        workload = Workload(name=read.string(value, ("workload",), loc, coerce=True))
    else:
        workload = Workload()
    fields = {
        WORKLOAD_KEYS[k]: read.string(d[k], (k,), loc, coerce=True)
        for k in _EARLIER_MARKS
        if k in d
    }
    return dataclasses.replace(workload, **fields)


# --------------------------------------------------------------------------- nodes

_ASSIGNMENT_KEYS = ("selectors", "properties", "name", "role", "count", "requirements")
_NODE_KEYS = ("name", "type", "role", "selectors", "count", "requirements")


def _assignment(value: Any, path: DocPath, loc: Locator) -> NodeAssignment:
    """types.proto's ``{selectors, properties: {name, role}}`` or job-v2.1.md's flat
    ``{name, role, selectors}``."""
    d = read.mapping(value, path, loc, "a node assignment", _ASSIGNMENT_KEYS)
    if "properties" in d:
        for key in ("name", "role"):
            if key in d:
                loc.add(
                    path + (key,),
                    f"both properties and a flat {key!r} given: expected properties: "
                    "{name, role} (types.proto) or a flat name and role (job-v2.1.md)",
                )
        props_path = path + ("properties",)
        props = read.mapping(d["properties"], props_path, loc, "properties", ("name", "role"))
    else:
        props_path = path
        props = d
        loc.renames[path + ("properties",)] = path  # rules speak of properties.name
    name = read.string(props["name"], props_path + ("name",), loc) if "name" in props else ""
    role = (
        read.choice(Role, props["role"], props_path + ("role",), loc, Role.ANY)
        if "role" in props
        else Role.ANY
    )
    return _assignment_rest(d, path, loc, name, role, earlier=False)


def _node(value: Any, path: DocPath, k: int, loc: Locator) -> NodeAssignment:
    d = read.mapping(value, path, loc, "a node", _NODE_KEYS)
    model = ("nodeAssignments", k)
    loc.renames[model] = path
    loc.renames[model + ("properties", "name")] = path + ("name",)
    name = read.string(d["name"], path + ("name",), loc) if "name" in d else ""
    role_value = read.alias(d, path, loc, "type", "role")
    role = (
        Role.ANY
        if role_value is None
        else read.choice(Role, role_value, path + ("type",), loc, Role.ANY)
    )
    return _assignment_rest(d, path, loc, name, role, earlier=True)


def _assignment_rest(
    d: Mapping[str, Any], path: DocPath, loc: Locator, name: str, role: Role, *, earlier: bool
) -> NodeAssignment:
    req = read.mapping(
        d.get("requirements", {}), path + ("requirements",), loc, "requirements", REQUIREMENT_KEYS
    )
    return NodeAssignment(
        name=name,
        role=role,
        selectors=_selectors(d.get("selectors"), path + ("selectors",), loc, earlier),
        count=read.integer(d["count"], path + ("count",), loc) if "count" in d else 1,
        requirements=Requirements(
            **{k: read.number(v, path + ("requirements", k), loc) for k, v in req.items()}
        ),
    )


def _selectors(value: Any, path: DocPath, loc: Locator, earlier: bool) -> tuple[Selector, ...]:
    return read.items(value, path, loc, "selectors", lambda v, p, _k: _selector(v, p, loc, earlier))


def _selector(value: Any, path: DocPath, loc: Locator, earlier: bool) -> Selector:
    keys = ("name", "role", "labels", "all", "none") + (("type",) if earlier else ())
    d = read.mapping(value, path, loc, "a selector", keys)
    role_value = read.alias(d, path, loc, "role", "type")
    return Selector(
        name=read.string(d["name"], path + ("name",), loc) if "name" in d else None,
        role=None
        if role_value is None
        else read.choice(Role, role_value, path + ("role",), loc, Role.ANY),
        labels=read.pairs(d.get("labels"), path + ("labels",), loc, "labels"),
        all=read.boolean(d["all"], path + ("all",), loc) if "all" in d else False,
        none=read.boolean(d["none"], path + ("none",), loc) if "none" in d else False,
    )


# --------------------------------------------------------------------------- stages


def _stage_pipeline(value: Any, path: DocPath, k: int, loc: Locator) -> StagePipeline:
    d = read.mapping(value, path, loc, "a pipeline", ("name", "stages"))
    name = read.string(d["name"], path + ("name",), loc) if "name" in d else f"pipeline-{k}"
    return StagePipeline(name, read.names(d.get("stages"), path + ("stages",), loc, "stage names"))


#: job-v2.1.md's stage types, keyed by their letters (``long running``, ``longRunning``,
#: ``long_running`` and ``long`` are one type) -> the name written back
_STAGE_TYPES: dict[str, str] = {
    "shortrunning": "short running",
    "short": "short running",
    "longrunning": "long running",
    "long": "long running",
    "stopper": "stopper",
}


def _stage(value: Any, path: DocPath, i: int, loc: Locator, earlier: bool) -> Stage:
    d = read.mapping(
        value,
        path,
        loc,
        "a stage",
        ("name", "background", "type", "selectors", "tasks", "pipelines"),
    )
    tasks = read.items(
        d.get("tasks"), path + ("tasks",), loc, "tasks", lambda v, p, j: _task(v, p, loc, (i, j))
    )
    kind = _stage_type(d["type"], path + ("type",), loc) if "type" in d else None
    if "type" in d and "background" in d:
        loc.add(path + ("type",), "both 'background' and 'type' given: expected one")
    elif "type" in d:
        loc.renames[path + ("background",)] = path + ("type",)
    if kind == "stopper":
        for j, task in enumerate(tasks):
            if task.driver is not Driver.STOPPER:
                loc.add(
                    path + ("tasks", j, "driver"),
                    f"stage of type stopper: expected only stopper tasks, found driver "
                    f"{task.driver.value}",
                )
    return Stage(
        name=read.string(d["name"], path + ("name",), loc) if "name" in d else "",
        background=read.boolean(d["background"], path + ("background",), loc)
        if "background" in d
        else kind == "long running",
        selectors=_selectors(d.get("selectors"), path + ("selectors",), loc, earlier),
        tasks=tasks,
        pipelines=read.items(
            d.get("pipelines"),
            path + ("pipelines",),
            loc,
            "task pipelines",
            lambda v, p, q: _task_pipeline(v, p, q, loc),
        ),
    )


def _stage_type(value: Any, path: DocPath, loc: Locator) -> str | None:
    """job-v2.1.md's stage ``type`` as ``short running``, ``long running`` or ``stopper``."""
    key = re.sub(r"[\s_-]", "", value.lower()) if isinstance(value, str) else None
    if key in _STAGE_TYPES:
        return _STAGE_TYPES[key]
    hint = did_you_mean(key, _STAGE_TYPES) if key else ""
    loc.add(
        path,
        "expected a stage type: short running, long running or stopper (job-v2.1.md), "
        f"found {read.kind(value)}{hint}",
    )
    return None


def _task_pipeline(value: Any, path: DocPath, q: int, loc: Locator) -> TaskPipeline:
    d = read.mapping(value, path, loc, "a task pipeline", ("name", "tasks"))
    name = read.string(d["name"], path + ("name",), loc) if "name" in d else f"pipeline-{q}"
    return TaskPipeline(name, read.names(d.get("tasks"), path + ("tasks",), loc, "task names"))


# --------------------------------------------------------------------------- tasks

_TASK_KEYS = (
    "name",
    "driver",
    "shell",
    "exec",
    "docker",
    "stopper",
    "env",
    "background",
    "longRunning",
    "ready",
    "ready_timeout",
    "readyTimeout",
    "timeout",
    "retries",
    "duration",
    "fail_prob",
    "failProb",
)


def _task(
    value: Any, path: DocPath, loc: Locator, where: tuple[int, int] | None, ready_index: int = 0
) -> Task:
    """One task; ``where`` is (stage, task) index for stage tasks, None for readiness checks."""
    d = read.mapping(value, path, loc, "a task", _TASK_KEYS)
    if "name" in d:
        name = read.string(d["name"], path + ("name",), loc)
        if not name:
            loc.add(path + ("name",), "expected a non-empty task name, found ''")
    elif where is not None:
        name = f"task-{where[1]}"
        loc.unnamed.add(where)
    else:
        name = f"ready-{ready_index}"
    payloads = [k for k in ("shell", "exec", "docker", "stopper") if k in d]
    if "driver" in d:
        driver = read.choice(Driver, d["driver"], path + ("driver",), loc, Driver.SHELL)
    else:
        driver = Driver(payloads[0]) if len(payloads) == 1 else Driver.SHELL
    ready, ready_timeout = _ready(d, path, loc)
    timeout = d.get("timeout")
    fail_prob = read.alias(d, path, loc, "fail_prob", "failProb")
    background = read.alias(d, path, loc, "background", "longRunning")
    return Task(
        name=name,
        driver=driver,
        shell=_shell(d["shell"], path + ("shell",), loc) if "shell" in d else None,
        exec=_exec(d["exec"], path + ("exec",), loc) if "exec" in d else None,
        docker=_docker(d["docker"], path + ("docker",), loc) if "docker" in d else None,
        stopper=_stopper(d["stopper"], path + ("stopper",), loc) if "stopper" in d else None,
        env=read.pairs(d.get("env"), path + ("env",), loc, "environment variables", env=True),
        background=False
        if background is None
        else read.boolean(background, path + ("background",), loc),
        ready=ready,
        ready_timeout=ready_timeout,
        timeout=None if timeout is None else read.number(timeout, path + ("timeout",), loc),
        retries=read.integer(d["retries"], path + ("retries",), loc) if "retries" in d else 0,
        duration=_duration(d["duration"], path + ("duration",), loc)
        if d.get("duration") is not None
        else None,
        fail_prob=0.0 if fail_prob is None else read.number(fail_prob, path + ("fail_prob",), loc),
    )


def _ready(
    d: Mapping[str, Any], path: DocPath, loc: Locator
) -> tuple[tuple[Task, ...], float | None]:
    value = d.get("ready")
    rpath = path + ("ready",)
    timeout = read.alias(d, path, loc, "ready_timeout", "readyTimeout")
    if isinstance(value, dict):
        r = read.mapping(value, rpath, loc, "readiness checks", ("tasks", "timeout"))
        loc.renames[rpath] = rpath + ("tasks",)
        if "timeout" in r:
            if timeout is not None:
                loc.add(rpath + ("timeout",), "ready timeout given twice: expected one")
            timeout = r["timeout"]
            loc.renames[path + ("ready_timeout",)] = rpath + ("timeout",)
        value = r.get("tasks")
        rpath = rpath + ("tasks",)
    checks = read.items(
        value, rpath, loc, "readiness checks", lambda v, p, k: _task(v, p, loc, None, k)
    )
    seconds = None if timeout is None else read.number(timeout, path + ("ready_timeout",), loc)
    return checks, seconds


def _shell(value: Any, path: DocPath, loc: Locator) -> ShellPayload:
    d = read.mapping(value, path, loc, "a shell payload", ("command",))
    return ShellPayload(
        read.string(d["command"], path + ("command",), loc) if "command" in d else ""
    )


def _exec(value: Any, path: DocPath, loc: Locator) -> ExecPayload:
    """BenchHub's ``{command: PROGRAM, args: [...]}``, or the whole argv as one list."""
    d = read.mapping(value, path, loc, "an exec payload", ("command", "args"))
    command = d.get("command")
    args = read.words(d.get("args"), path + ("args",), loc, "args")
    if not isinstance(command, list):
        program = (
            "" if command is None else read.string(command, path + ("command",), loc, coerce=True)
        )
        return ExecPayload(program, args)
    if "args" in d:
        loc.add(
            path + ("args",),
            "args given beside an argv list in command: expected command: PROGRAM with "
            "args: [...], or command: [PROGRAM, ARG...] alone",
        )
    argv = read.words(command, path + ("command",), loc, "argv")
    # rules speak of command and args[k]: the file has command[0] and command[k + 1]
    loc.renames[path + ("command",)] = path + ("command", 0)
    for k in range(1, len(argv)):
        loc.renames[path + ("args", k - 1)] = path + ("command", k)
    return ExecPayload(argv[0], argv[1:]) if argv else ExecPayload("")


#: docker actions beside DockerAction's own names: job-v2.1.md's ``start``
_DOCKER_ACTION_NAMES: dict[str, DockerAction] = {"start": DockerAction.RUN}
#: types.proto's DockerAction numbers, which Go's YAML decoder takes (0 is UNKNOWN)
_DOCKER_ACTION_CODES: dict[int, DockerAction] = {1: DockerAction.PULL, 2: DockerAction.RUN}


def _docker(value: Any, path: DocPath, loc: Locator) -> DockerPayload:
    d = read.mapping(value, path, loc, "a docker payload", ("image", "action", "ports", "args"))
    return DockerPayload(
        image=read.string(d["image"], path + ("image",), loc) if "image" in d else "",
        action=_docker_action(d["action"], path + ("action",), loc)
        if "action" in d
        else DockerAction.PULL,
        ports=read.items(
            d.get("ports"), path + ("ports",), loc, "ports", lambda v, p, _k: _port(v, p, loc)
        ),
        args=read.words(d.get("args"), path + ("args",), loc, "args"),
    )


def _docker_action(value: Any, path: DocPath, loc: Locator) -> DockerAction:
    if isinstance(value, int) and not isinstance(value, bool):
        if value in _DOCKER_ACTION_CODES:
            return _DOCKER_ACTION_CODES[value]
        unknown = " (types.proto's UNKNOWN, which BenchHub's runner refuses)" if value == 0 else ""
        loc.add(path, f"expected 1 (PULL) or 2 (RUN) as a number, found {value}{unknown}")
        return DockerAction.PULL
    return read.choice(DockerAction, value, path, loc, DockerAction.PULL, _DOCKER_ACTION_NAMES)


def _port(value: Any, path: DocPath, loc: Locator) -> DockerPort:
    d = read.mapping(value, path, loc, "a port", ("guest", "host"))
    return DockerPort(  # a port not given is 0, as Go decodes it
        guest=read.integer(d["guest"], path + ("guest",), loc) if "guest" in d else 0,
        host=read.integer(d["host"], path + ("host",), loc) if "host" in d else 0,
    )


def _stopper(value: Any, path: DocPath, loc: Locator) -> StopperPayload:
    d = read.mapping(value, path, loc, "a stopper payload", ("stage", "task", "all"))
    return StopperPayload(
        stage=read.string(d["stage"], path + ("stage",), loc) if "stage" in d else "",
        task=read.string(d["task"], path + ("task",), loc) if d.get("task") is not None else None,
        all=read.boolean(d["all"], path + ("all",), loc) if "all" in d else False,
    )


def _duration(value: Any, path: DocPath, loc: Locator) -> Duration | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        loc.renames[path + ("value",)] = path  # rules speak of 'value'; the file has a number
        return Duration.constant(value)
    if not isinstance(value, dict):
        loc.add(
            path, f"expected seconds (a number) or {{dist: ..., params}}, found {read.kind(value)}"
        )
        return None
    if "dist" not in value:
        loc.add(path + ("dist",), f"missing key: expected one of {', '.join(DISTRIBUTIONS)}")
        return None
    dist = read.string(value["dist"], path + ("dist",), loc)
    given = {str(k): read.number(v, path + (str(k),), loc) for k, v in value.items() if k != "dist"}
    order = list(DISTRIBUTIONS.get(dist, ()))
    names = [n for n in order if n in given] + [n for n in given if n not in order]
    return Duration(dist, tuple((n, given[n]) for n in names))
