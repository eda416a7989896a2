"""Job spec data model: frozen dataclasses mirroring BenchHub's JobSpec.

The loader (:mod:`benchhub_sim.spec.load`) builds these from YAML and validates them;
everything downstream (graph, planner, engine) reads only these classes.
Fields that BenchHub itself does not have but a simulator needs are marked *sim*.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from benchhub_sim.spec.display import spec_html, spec_repr

#: The spec dialects :func:`~benchhub_sim.spec.load.load_spec` reads and
#: :func:`~benchhub_sim.spec.dump.dump_spec` writes: types.proto's ``nodeAssignments``
#: with ``properties``, the earlier ``nodes: [{name, type}]``, and job-v2.1.md's flat
#: ``nodeAssignments: [{name, role}]`` with stage ``type`` and task ``longRunning``.
DIALECTS: tuple[str, ...] = ("nodeAssignments", "nodes", "job-v2.1")


class Role(StrEnum):
    """Role a node prefers, or the role an assignment asks for."""

    ANY = "any"
    LOADER = "loader"
    DATABASE = "database"
    CENTRAL = "central"


class Driver(StrEnum):
    """How a task runs: ``sh -c``, argv, the docker CLI, or by stopping other tasks."""

    SHELL = "shell"
    EXEC = "exec"
    DOCKER = "docker"
    STOPPER = "stopper"


class DockerAction(StrEnum):
    """BenchHub's ``PULL`` and ``RUN`` (job-v2.1.md: ``start``), and the package's ``BUILD``."""

    PULL = "pull"
    RUN = "run"
    BUILD = "build"


class OwnerType(StrEnum):
    """BenchHub's ``OwnerType``; its ``UNKNOWN_OWNER`` is ``None`` on :class:`Owner`."""

    USER = "user"
    ORG = "org"


#: Parameters each duration distribution takes (all required).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "exponential": ("mean",),
    "lognormal": ("mu", "sigma"),
    "normal": ("mean", "std"),
    "uniform": ("low", "high"),
}


@dataclass(frozen=True)
class Duration:
    """*sim* How long a task takes in virtual time, in seconds.

    ``constant(value)``, ``exponential(mean)``, ``lognormal(mu, sigma)`` (of the
    underlying normal), ``normal(mean, std)`` (negative draws clip to 0),
    ``uniform(low, high)``.
    """

    dist: str
    params: tuple[tuple[str, float], ...]

    @classmethod
    def constant(cls, value: float) -> Duration:
        return cls("constant", (("value", float(value)),))

    @classmethod
    def of(cls, dist: str, **params: float) -> Duration:
        names = DISTRIBUTIONS[dist]
        return cls(dist, tuple((k, float(params[k])) for k in names))

    def param(self, name: str) -> float:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(name)

    @property
    def mean(self) -> float:
        """Expected value in seconds (used for walltime estimates and critical paths)."""
        p = self.param
        if self.dist == "constant":
            return p("value")
        if self.dist == "exponential":
            return p("mean")
        if self.dist == "lognormal":
            return math.exp(p("mu") + p("sigma") ** 2 / 2)
        if self.dist == "normal":
            return p("mean")  # clipping at 0 is negligible for sensible specs
        if self.dist == "uniform":
            return (p("low") + p("high")) / 2
        raise ValueError(f"unknown distribution {self.dist!r}")

    def sample(self, rng: Any) -> float:
        """Draw one duration with a ``numpy.random.Generator``."""
        p = self.param
        if self.dist == "constant":
            return p("value")
        if self.dist == "exponential":
            return float(rng.exponential(p("mean")))
        if self.dist == "lognormal":
            return float(rng.lognormal(p("mu"), p("sigma")))
        if self.dist == "normal":
            return max(0.0, float(rng.normal(p("mean"), p("std"))))
        if self.dist == "uniform":
            return float(rng.uniform(p("low"), p("high")))
        raise ValueError(f"unknown distribution {self.dist!r}")


@dataclass(frozen=True)
class Owner:
    id: str = ""
    name: str = ""
    type: OwnerType | None = None


@dataclass(frozen=True)
class Workload:
    framework: str = ""
    framework_version: str = ""
    database: str = ""
    database_version: str = ""
    #: earlier dialect: ``workload: constant`` beside top-level framework/database
    name: str = ""


@dataclass(frozen=True)
class Selector:
    """Picks nodes: by assigned ``name``, by ``role``, by ``labels``, ``all`` or ``none``.

    Several selectors in a list are OR-ed (types.proto). Within one selector ``name`` and
    ``role`` are OR-ed too, as BenchHub's planner does (``{name: srv, role: loader}``
    picks ``srv`` and every loader); ``labels``, when given, must all match the node as
    well. ``all`` picks every node. ``none`` picks no node by itself; in a stage of
    stoppers it stands for the nodes of the stages they stop (see :func:`stage_selectors`).
    """

    name: str | None = None
    role: Role | None = None
    labels: tuple[tuple[str, str], ...] = ()
    all: bool = False
    none: bool = False


@dataclass(frozen=True)
class Requirements:
    """*sim* Minimum node capacity an assignment needs (BenchHub's early ``nodespec``)."""

    cores: float = 0
    mem_mb: float = 0
    disk_mb: float = 0


@dataclass(frozen=True)
class NodeAssignment:
    """One node (or ``count`` nodes) the job needs, named uniquely within the job."""

    name: str
    role: Role = Role.ANY
    selectors: tuple[Selector, ...] = ()
    count: int = 1
    requirements: Requirements = field(default_factory=Requirements)


@dataclass(frozen=True)
class DockerPort:
    """A published port; 0 where the spec gives none, as Go decodes it (host 0: docker
    picks a free host port)."""

    guest: int = 0
    host: int = 0


@dataclass(frozen=True)
class ShellPayload:
    command: str


@dataclass(frozen=True)
class ExecPayload:
    """BenchHub's ``ExecSpec``: a program and its arguments, run without a shell."""

    command: str
    args: tuple[str, ...] = ()

    @property
    def argv(self) -> tuple[str, ...]:
        """``(command, *args)``: what the process is started with."""
        return (self.command, *self.args)


@dataclass(frozen=True)
class DockerPayload:
    image: str
    action: DockerAction = DockerAction.PULL
    ports: tuple[DockerPort, ...] = ()
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class StopperPayload:
    """Stops background tasks: one ``task`` of ``stage``, or every task of ``stage``
    (``all: true``, BenchHub's ``StopperSpec.all``; also when no task is named)."""

    stage: str
    task: str | None = None
    all: bool = False


@dataclass(frozen=True)
class Task:
    name: str = ""
    driver: Driver = Driver.SHELL
    shell: ShellPayload | None = None
    exec: ExecPayload | None = None
    docker: DockerPayload | None = None
    stopper: StopperPayload | None = None
    env: tuple[tuple[str, str], ...] = ()
    background: bool = False
    #: readiness checks: tasks that must succeed before a background task counts as ready
    ready: tuple[Task, ...] = ()
    #: seconds the readiness checks may keep failing before the job aborts
    ready_timeout: float | None = None
    timeout: float | None = None
    retries: int = 0
    duration: Duration | None = None  # *sim*
    fail_prob: float = 0.0  # *sim*


@dataclass(frozen=True)
class TaskPipeline:
    name: str
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    name: str
    background: bool = False
    selectors: tuple[Selector, ...] = ()
    tasks: tuple[Task, ...] = ()
    #: explicit task pipelines; empty means one task at a time, in order
    pipelines: tuple[TaskPipeline, ...] = ()

    @property
    def stops(self) -> tuple[str, ...]:
        """Names of the stages this stage's stopper tasks stop, first mention first."""
        named = (t.stopper.stage for t in self.tasks if t.driver is Driver.STOPPER and t.stopper)
        return tuple(dict.fromkeys(named))

    @property
    def from_central(self) -> bool:
        """A stage of stoppers selected by ``none``: the central runs it on the nodes of
        the stages it stops (BenchHub: "central tells all the nodes to stop")."""
        return bool(self.stops) and any(s.none for s in self.selectors)


@dataclass(frozen=True)
class StagePipeline:
    name: str
    stages: tuple[str, ...]


@dataclass(frozen=True)
class JobSpec:
    """A job spec (BenchHub's ``JobSpec``, with the package's simulation fields).

    ``source`` is the text the spec was loaded from, verbatim (comments and all), and
    ``spec_hash`` its SHA-256; both are None for a spec built in code or from a mapping.
    They are not compared and not copied by :func:`dataclasses.replace`: a changed
    spec no longer claims the text it came from.
    """

    name: str
    owner: Owner = field(default_factory=Owner)
    workload: Workload = field(default_factory=Workload)
    node_assignments: tuple[NodeAssignment, ...] = ()
    #: explicit pipelines; empty means one stage at a time, in definition order
    pipelines: tuple[StagePipeline, ...] = ()
    stages: tuple[Stage, ...] = ()
    reason: str = ""
    walltime: float | None = None  # *sim* estimate used by backfilling policies
    priority: float = 0.0  # *sim*
    #: one of :data:`DIALECTS`: the form the spec was written in, and is dumped in
    dialect: str = "nodeAssignments"
    #: BenchHub's ``JobSpec.id`` (the package numbers jobs itself: this is kept, not used)
    id: str = ""
    source: str | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def spec_hash(self) -> str | None:
        """SHA-256 (hex) of :attr:`source`, as store2018.md's ``job_spec.hash``."""
        return None if self.source is None else text_hash(self.source)

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def effective_pipelines(self) -> tuple[StagePipeline, ...]:
        """The pipelines that run: the explicit ones, or one per stage in order."""
        if self.pipelines:
            return self.pipelines
        return tuple(StagePipeline(f"autogen-{i}", (s.name,)) for i, s in enumerate(self.stages))

    def __repr__(self) -> str:
        return spec_repr(self)

    def _repr_html_(self) -> str:
        return spec_html(self)


def with_source(spec: JobSpec, text: str) -> JobSpec:
    """``spec``, remembering ``text`` as the text it was loaded from (the loader's step)."""
    object.__setattr__(spec, "source", text)  # frozen: set once, before anyone sees it
    return spec


def text_hash(text: str) -> str:
    """The spec hash of a spec text: SHA-256 of its UTF-8 bytes, in hex (``sha256sum``).

    Examples
    --------
    >>> text_hash("")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def selector_picks(sel: Selector, names: Collection[str], roles: Collection[Role]) -> bool:
    """Whether ``sel``'s ``all``/``none``/``name``/``role`` pick a node known by ``names``
    that plays one of ``roles``; ``labels`` are the caller's to check against the node.

    ``name`` and ``role`` are OR-ed (BenchHub's planner); a selector with neither (only
    labels) leaves the choice to its labels.

    Examples
    --------
    >>> sel = Selector(name="srv", role=Role.LOADER)
    >>> selector_picks(sel, ["srv"], [Role.DATABASE]), selector_picks(sel, ["cli"], [Role.LOADER])
    (True, True)
    """
    if sel.none:
        return False
    if sel.all or (sel.name is None and sel.role is None):
        return sel.all or bool(sel.labels)
    return sel.name in names or sel.role in roles


def stage_selectors(spec: JobSpec, stage: Stage) -> tuple[Selector, ...]:
    """The selectors that pick a stage's nodes.

    A stage's own selectors; where one of them is ``none`` and the stage has stopper
    tasks, also the selectors of the stages they stop, so that the stoppers run on every
    node that runs a stage they stop. A ``none`` selector picks nothing by itself.
    """
    if not stage.from_central:
        return stage.selectors
    by_name = {s.name: s for s in spec.stages}
    targets = [by_name[n] for n in stage.stops if n in by_name and n != stage.name]
    return stage.selectors + tuple(sel for t in targets for sel in t.selectors if not sel.none)


def effective_task_pipelines(stage: Stage) -> tuple[TaskPipeline, ...]:
    """A stage's task pipelines: explicit, or one ``autogen-N`` pipeline per task in order.

    Unnamed tasks are named ``task-N`` by the loader, so every task has a name here.
    """
    if stage.pipelines:
        return stage.pipelines
    return tuple(TaskPipeline(f"autogen-{i}", (t.name,)) for i, t in enumerate(stage.tasks))
