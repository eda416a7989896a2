"""Consistency rules of a job spec, checked on the model after loading.

:func:`validate_spec` checks a :class:`~benchhub_sim.spec.model.JobSpec` however it was
built (YAML, dict, code) and returns every problem found. The loader calls the same
rules with a :class:`Locator` that knows the YAML line of every path, so each problem
reads ``file:line: path: message``.

Paths are written in the later dialect (``nodeAssignments[0].properties.name``,
``stages[2].tasks[0].fail_prob``); a locator maps them back to the keys the file
actually used (``nodes[0].name``, ``failProb``, ``ready.tasks[0]``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from benchhub_sim.errors import Problem
from benchhub_sim.spec.model import (
    DIALECTS,
    DISTRIBUTIONS,
    Driver,
    Duration,
    JobSpec,
    NodeAssignment,
    Selector,
    Stage,
    Task,
    selector_picks,
    stage_selectors,
)
from benchhub_sim.spec.template import scan_templates

#: A place in a spec document: keys and list indices from the root.
DocPath = tuple[str | int, ...]


def format_path(path: Iterable[str | int]) -> str:
    """``("stages", 3, "selectors")`` -> ``"stages[3].selectors"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or ``""`` when none is close."""
    if not isinstance(word, str):
        return ""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


@dataclass
class Locator:
    """Where problems go, and how a model path maps to a file line.

    Attributes
    ----------
    where : str
        File name shown in front of every problem.
    lines : dict
        Document path -> 1-based line of the key (or list item) that starts it.
    renames : dict
        Model path prefix -> the path the document used instead (aliases, dialects).
    unnamed : set of (int, int)
        ``(stage index, task index)`` of tasks the document gave no name.
    problems : list of Problem
        Everything found so far.
    """

    where: str = ""
    lines: dict[DocPath, int] = field(default_factory=dict)
    renames: dict[DocPath, DocPath] = field(default_factory=dict)
    unnamed: set[tuple[int, int]] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    #: the document path of each problem, in the same order
    problem_paths: list[DocPath] = field(default_factory=list)

    def source_path(self, path: DocPath) -> DocPath:
        """``path`` as the document spells it (longest renamed prefix first, chained)."""
        done = 0  # the first ``done`` parts are already the document's
        while True:
            for cut in range(len(path), done, -1):
                target = self.renames.get(path[:cut])
                if target is not None:
                    path, done = target + path[cut:], len(target)
                    break
            else:
                return path

    def line(self, path: DocPath) -> int | None:
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return None

    def add(self, path: DocPath, message: str, *, line: int | None = None) -> None:
        """Record one problem at ``path`` (a model path; renamed to the document's)."""
        path = self.source_path(path)
        line = self.line(path) if line is None else line
        self.problems.append(Problem(self.where, line, format_path(path), message))
        self.problem_paths.append(path)

    def at(self, path: DocPath) -> str:
        """``line 12`` where the line is known, else the path, for 'first at ...' notes."""
        path = self.source_path(path)
        line = self.line(path)
        return f"line {line}" if line is not None else format_path(path)

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))


def validate_spec(
    spec: JobSpec, *, where: str = "", lines: Mapping[DocPath, int] | None = None
) -> list[Problem]:
    """Every consistency problem of ``spec``, sorted by line (empty when valid).

    Parameters
    ----------
    spec : JobSpec
        The spec to check.
    where : str, optional
        File name to put in front of each problem.
    lines : mapping, optional
        Document path -> line, to locate problems.

    Returns
    -------
    list of Problem

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec, Stage
    >>> [str(p) for p in validate_spec(JobSpec("j", stages=(Stage("s"),)))]
    ["<input>: stages[0].selectors: stage 's' selects no node: expected a selector (name, role, labels or all: true) matching an assignment, found none"]
    """
    loc = Locator(where=where, lines=dict(lines or {}))
    check_spec(spec, loc)
    return loc.sorted_problems()


def check_spec(spec: JobSpec, loc: Locator) -> None:
    """Apply every rule to ``spec``, adding problems to ``loc``."""
    if spec.dialect not in DIALECTS:
        loc.add(("dialect",), f"expected one of {', '.join(DIALECTS)}, found {spec.dialect!r}")
    if not spec.name:
        loc.add(("name",), "missing job name: expected a non-empty string")
    if spec.walltime is not None:
        _positive(loc, ("walltime",), spec.walltime)
    if not math.isfinite(spec.priority):
        loc.add(("priority",), f"expected a finite number, found {spec.priority}")
    if not spec.stages:
        loc.add(("stages",), "expected at least one stage, found none")
    _check_assignments(spec.node_assignments, loc)
    _check_pipelines(spec, loc)
    stage_first: dict[str, int] = {}
    for i, stage in enumerate(spec.stages):
        path: DocPath = ("stages", i)
        if not stage.name:
            loc.add(path + ("name",), "missing stage name: expected a non-empty string")
        elif stage.name in stage_first:
            first = loc.at(("stages", stage_first[stage.name], "name"))
            loc.add(path + ("name",), f"duplicate stage name {stage.name!r} (first at {first})")
        else:
            stage_first[stage.name] = i
        _check_stage(spec, i, stage, loc)


def _check_assignments(assignments: tuple[NodeAssignment, ...], loc: Locator) -> None:
    first: dict[str, int] = {}
    for i, a in enumerate(assignments):
        path: DocPath = ("nodeAssignments", i)
        name_path = path + ("properties", "name")
        if not a.name:
            loc.add(name_path, "missing assignment name: expected a non-empty string")
        elif a.name in first:
            where = loc.at(("nodeAssignments", first[a.name], "properties", "name"))
            loc.add(name_path, f"duplicate assignment name {a.name!r} (first at {where})")
        else:
            first[a.name] = i
        if a.count < 1:
            loc.add(path + ("count",), f"expected a count >= 1, found {a.count}")
        for key in ("cores", "mem_mb", "disk_mb"):
            value = getattr(a.requirements, key)
            if not math.isfinite(value) or value < 0:
                loc.add(path + ("requirements", key), f"expected a number >= 0, found {value}")
        for k, sel in enumerate(a.selectors):
            _check_selector_shape(sel, path + ("selectors", k), loc)
        if a.selectors and all(sel.none for sel in a.selectors):
            loc.add(
                path + ("selectors",),
                f"assignment {a.name!r} selects no node: none: true picks none, so it could "
                "never be bound (expected name, role, labels or all: true)",
            )


def _check_pipelines(spec: JobSpec, loc: Locator) -> None:
    stage_names = [s.name for s in spec.stages]
    placed: dict[str, DocPath] = {}
    names: dict[str, int] = {}
    for p, pipe in enumerate(spec.pipelines):
        if pipe.name in names:
            first = loc.at(("pipelines", names[pipe.name], "name"))
            loc.add(
                ("pipelines", p, "name"),
                f"duplicate pipeline name {pipe.name!r} (first at {first})",
            )
        names.setdefault(pipe.name, p)
        if not pipe.stages:
            loc.add(("pipelines", p, "stages"), "expected at least one stage name, found none")
        for k, name in enumerate(pipe.stages):
            path: DocPath = ("pipelines", p, "stages", k)
            if name not in stage_names:
                loc.add(path, f"unknown stage {name!r}{did_you_mean(name, stage_names)}")
            elif name in placed:
                loc.add(
                    path,
                    f"stage {name!r} is already in {format_path(loc.source_path(placed[name])[:2])} "
                    f"(at {loc.at(placed[name])}): expected each stage in exactly one pipeline",
                )
            else:
                placed[name] = path
    if spec.pipelines:
        for i, stage in enumerate(spec.stages):
            if stage.name and stage.name not in placed:
                loc.add(
                    ("stages", i, "name"),
                    f"stage {stage.name!r} is in no pipeline: it would never run "
                    "(expected it in one of 'pipelines')",
                )


def _check_stage(spec: JobSpec, i: int, stage: Stage, loc: Locator) -> None:
    path: DocPath = ("stages", i)
    _check_stage_selectors(spec, i, stage, loc)
    # how the spec's dialect writes a background task and a background stage
    task_flag, stage_flag = (
        ("longRunning: true", "type: long running")
        if spec.dialect == "job-v2.1"
        else ("background: true", "background: true")
    )
    if stage.background and not stage.tasks:
        loc.add(
            path + ("tasks",),
            f"background stage {stage.name!r} has no background task: "
            f"expected at least one task with {task_flag}, found no tasks",
        )
    elif stage.background and not any(t.background for t in stage.tasks):
        loc.add(
            path + ("background",),
            f"background stage {stage.name!r} has no background task: "
            f"expected at least one task with {task_flag}",
        )
    task_first: dict[str, int] = {}
    for j, task in enumerate(stage.tasks):
        tpath = path + ("tasks", j)
        if task.name in task_first:
            first = loc.at(path + ("tasks", task_first[task.name]))
            loc.add(
                tpath + ("name",),
                f"duplicate task name {task.name!r} in stage {stage.name!r} (first at {first})",
            )
        else:
            task_first[task.name] = j
        if task.background and not stage.background:
            loc.add(
                tpath + ("background",),
                f"background task in foreground stage {stage.name!r}: expected "
                f"{stage_flag} on the stage too",
            )
        _check_task(spec, task, tpath, loc)
        for k, check in enumerate(task.ready):
            rpath = tpath + ("ready", k)
            if check.background:
                loc.add(
                    rpath + ("background",),
                    "readiness check is a background task: expected a task that runs to completion",
                )
            _check_task(spec, check, rpath, loc)
    _check_task_pipelines(i, stage, loc)


def _check_task_pipelines(i: int, stage: Stage, loc: Locator) -> None:
    if not stage.pipelines:
        return
    path: DocPath = ("stages", i)
    names = [t.name for t in stage.tasks]
    for j in range(len(stage.tasks)):
        if (i, j) in loc.unnamed:
            loc.add(
                path + ("tasks", j),
                f"task has no name: stage {stage.name!r} has task pipelines, which can only "
                "name named tasks (expected a 'name')",
            )
    placed: dict[str, DocPath] = {}
    for q, pipe in enumerate(stage.pipelines):
        for m, name in enumerate(pipe.tasks):
            ppath = path + ("pipelines", q, "tasks", m)
            if name not in names:
                loc.add(
                    ppath,
                    f"unknown task {name!r} in stage {stage.name!r}{did_you_mean(name, names)}",
                )
            elif name in placed:
                loc.add(
                    ppath,
                    f"task {name!r} is already in a task pipeline (at {loc.at(placed[name])}): "
                    "expected each task in exactly one",
                )
            else:
                placed[name] = ppath
    for j, task in enumerate(stage.tasks):
        if task.name not in placed and (i, j) not in loc.unnamed:
            loc.add(
                path + ("tasks", j, "name"),
                f"task {task.name!r} is in no task pipeline of stage {stage.name!r}: it would "
                "never run (expected it in exactly one of 'pipelines')",
            )


def _check_selector_shape(sel: Selector, path: DocPath, loc: Locator) -> None:
    if sel.name is None and sel.role is None and not sel.labels and not sel.all and not sel.none:
        loc.add(path, "empty selector: expected one of name, role, labels, all: true, none: true")
    if sel.all and sel.none:
        loc.add(path, "selector has both all: true and none: true: expected one of them")
    elif sel.none and (sel.name is not None or sel.role is not None or sel.labels):
        loc.add(
            path,
            "selector has none: true beside name, role or labels: expected none: true alone "
            "(it picks no node by itself)",
        )


def _matches(sel: Selector, a: NodeAssignment) -> bool:
    # labels belong to the cluster's nodes, unknown here: a selector of labels may match
    return selector_picks(sel, (a.name,), (a.role,))


def _check_stage_selectors(spec: JobSpec, i: int, stage: Stage, loc: Locator) -> None:
    path: DocPath = ("stages", i, "selectors")
    assignments = spec.node_assignments
    names = [a.name for a in assignments]
    reported = False
    for k, sel in enumerate(stage.selectors):
        spath = path + (k,)
        _check_selector_shape(sel, spath, loc)
        if sel.name is not None and sel.name not in names:
            known = ", ".join(repr(n) for n in names) or "none"
            loc.add(
                spath + ("name",),
                f"unknown assignment {sel.name!r}{did_you_mean(sel.name, names)}: "
                f"expected one of {known}",
            )
            reported = True
        elif (
            sel.name is None
            and sel.role is not None
            and not any(_matches(sel, a) for a in assignments)
        ):
            loc.add(
                spath + ("role",),
                f"stage {stage.name!r} selects no node: no assignment has role {sel.role.value!r}",
            )
            reported = True
    if reported:
        return
    selectors = stage_selectors(spec, stage)
    if not any(_matches(sel, a) for sel in selectors for a in assignments):
        found = "none" if not stage.selectors else "selectors that match no assignment"
        if any(sel.none for sel in stage.selectors) and not stage.stops:
            found += " (none: true picks nodes only in a stage of stoppers: those of the stages they stop)"
        loc.add(
            path,
            f"stage {stage.name!r} selects no node: expected a selector (name, role, labels "
            f"or all: true) matching an assignment, found {found}",
        )


_PAYLOADS: dict[Driver, str] = {
    Driver.SHELL: "shell",
    Driver.EXEC: "exec",
    Driver.DOCKER: "docker",
    Driver.STOPPER: "stopper",
}


def _check_task(spec: JobSpec, task: Task, path: DocPath, loc: Locator) -> None:
    _check_payload(spec, task, path, loc)
    _check_templates(spec, task, path, loc)
    if task.timeout is not None:
        _positive(loc, path + ("timeout",), task.timeout)
    if task.ready_timeout is not None:
        _positive(loc, path + ("ready_timeout",), task.ready_timeout)
    if task.retries < 0:
        loc.add(path + ("retries",), f"expected a number of retries >= 0, found {task.retries}")
    if not 0.0 <= task.fail_prob <= 1.0:
        loc.add(path + ("fail_prob",), f"expected a probability in [0, 1], found {task.fail_prob}")
    if task.duration is not None:
        _check_duration(task.duration, path + ("duration",), loc)


def _check_payload(spec: JobSpec, task: Task, path: DocPath, loc: Locator) -> None:
    driver = task.driver
    for drv, key in _PAYLOADS.items():
        if drv is not driver and getattr(task, key) is not None:
            loc.add(
                path + (key,),
                f"payload {key!r} given but driver is {driver.value!r}: expected only "
                f"{_PAYLOADS[driver]!r}",
            )
    if driver is Driver.SHELL and (task.shell is None or not task.shell.command):
        loc.add(
            path + ("shell",), "driver shell needs shell.command: expected a command, found none"
        )
    elif driver is Driver.EXEC and (task.exec is None or not task.exec.command):
        loc.add(
            path + ("exec",),
            "driver exec needs exec.command: expected a program, found none",
        )
    elif driver is Driver.DOCKER:
        if task.docker is None or not task.docker.image:
            loc.add(
                path + ("docker",),
                "driver docker needs docker.image: expected an image, found none",
            )
        else:
            for k, port in enumerate(task.docker.ports):
                ppath = path + ("docker", "ports", k)
                if not 0 < port.guest < 65536:  # 0 also when not given
                    loc.add(
                        ppath + ("guest",),
                        f"expected the container's port in 1..65535, found {port.guest}",
                    )
                if not 0 <= port.host < 65536:
                    loc.add(
                        ppath + ("host",),
                        f"expected a host port in 0..65535 (0: docker picks one), found {port.host}",
                    )
    elif driver is Driver.STOPPER:
        _check_stopper(spec, task, path, loc)


def _check_stopper(spec: JobSpec, task: Task, path: DocPath, loc: Locator) -> None:
    stopper = task.stopper
    if stopper is None or not stopper.stage:
        loc.add(
            path + ("stopper",),
            "driver stopper needs stopper.stage: expected a stage name, found none",
        )
        return
    spath = path + ("stopper", "stage")
    names = [s.name for s in spec.stages]
    if stopper.stage not in names:
        loc.add(
            spath,
            f"stopper names unknown stage {stopper.stage!r}{did_you_mean(stopper.stage, names)}",
        )
        return
    target = spec.stage(stopper.stage)
    if stopper.all and stopper.task is not None:
        loc.add(
            path + ("stopper", "all"),
            f"stopper has both task {stopper.task!r} and all: true: expected one (all: true "
            "stops every background task of the stage)",
        )
        return
    if stopper.task is None:
        if not target.background:
            loc.add(
                spath,
                f"stopper stops stage {target.name!r}, which is not a background stage: "
                "expected a background stage",
            )
        return
    tnames = [t.name for t in target.tasks]
    tpath = path + ("stopper", "task")
    if stopper.task not in tnames:
        loc.add(
            tpath,
            f"stopper names unknown task {stopper.task!r} of stage {target.name!r}"
            f"{did_you_mean(stopper.task, tnames)}",
        )
    elif not target.tasks[tnames.index(stopper.task)].background:
        loc.add(
            tpath,
            f"stopper stops task {stopper.task!r} of stage {target.name!r}, which is not a "
            "background task: expected a background task",
        )


def _template_fields(task: Task, path: DocPath) -> list[tuple[DocPath, str]]:
    fields: list[tuple[DocPath, str]] = []
    if task.shell is not None:
        fields.append((path + ("shell", "command"), task.shell.command))
    if task.exec is not None:
        fields.append((path + ("exec", "command"), task.exec.command))
        fields += [(path + ("exec", "args", m), a) for m, a in enumerate(task.exec.args)]
    if task.docker is not None:
        fields.append((path + ("docker", "image"), task.docker.image))
        fields += [(path + ("docker", "args", m), a) for m, a in enumerate(task.docker.args)]
    fields += [(path + ("env", key), value) for key, value in task.env]
    return fields


def _check_templates(spec: JobSpec, task: Task, path: DocPath, loc: Locator) -> None:
    names = [a.name for a in spec.node_assignments]
    for fpath, text in _template_fields(task, path):
        refs, errors = scan_templates(text)
        for error in errors:
            loc.add(fpath, error)
        for ref in refs:
            if ref.assignment is not None and ref.assignment not in names:
                known = ", ".join(repr(n) for n in names) or "none"
                loc.add(
                    fpath,
                    f"template {ref.raw} names unknown assignment {ref.assignment!r}"
                    f"{did_you_mean(ref.assignment, names)}: expected one of {known}",
                )


def _check_duration(d: Duration, path: DocPath, loc: Locator) -> None:
    if d.dist not in DISTRIBUTIONS:
        loc.add(
            path + ("dist",),
            f"unknown distribution {d.dist!r}{did_you_mean(d.dist, DISTRIBUTIONS)}: "
            f"expected one of {', '.join(DISTRIBUTIONS)}",
        )
        return
    wanted = DISTRIBUTIONS[d.dist]
    given = dict(d.params)
    for name in wanted:
        if name not in given:
            loc.add(
                path,
                f"distribution {d.dist!r} needs parameter {name!r}: expected "
                f"{', '.join(wanted)}, found {', '.join(given) or 'none'}",
            )
    for name, value in d.params:
        if name not in wanted:
            loc.add(
                path + (name,),
                f"unknown parameter {name!r} of distribution {d.dist!r}"
                f"{did_you_mean(name, wanted)}: expected {', '.join(wanted)}",
            )
        elif not math.isfinite(value):
            loc.add(path + (name,), f"expected a finite number, found {value}")
        elif value < 0 and not (d.dist == "lognormal" and name == "mu"):
            loc.add(
                path + (name,), f"negative duration parameter: expected {name} >= 0, found {value}"
            )
    if d.dist == "uniform" and set(wanted) <= given.keys() and given["low"] > given["high"]:
        loc.add(
            path,
            f"uniform duration: expected low <= high, found low={given['low']} > high={given['high']}",
        )


def _positive(loc: Locator, path: DocPath, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        loc.add(path, f"expected a number of seconds > 0, found {value}")
