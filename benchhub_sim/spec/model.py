"""Job spec data model: frozen dataclasses mirroring BenchHub's JobSpec.

The loader (:mod:`benchhub_sim.spec.load`) builds these from YAML and validates them;
everything downstream (graph, planner, engine) reads only these classes.
Fields that BenchHub itself does not have but a simulator needs are marked *sim*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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
    PULL = "pull"
    RUN = "run"
    BUILD = "build"


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

    def to_yaml(self) -> float | dict[str, Any]:
        if self.dist == "constant":
            return self.param("value")
        return {"dist": self.dist, **dict(self.params)}


@dataclass(frozen=True)
class Owner:
    id: str = ""
    name: str = ""
    type: str = ""


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

    Several selectors in a list are OR-ed; the fields of one selector are AND-ed.
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
    guest: int
    host: int


@dataclass(frozen=True)
class ShellPayload:
    command: str


@dataclass(frozen=True)
class ExecPayload:
    command: tuple[str, ...]


@dataclass(frozen=True)
class DockerPayload:
    image: str
    action: DockerAction = DockerAction.PULL
    ports: tuple[DockerPort, ...] = ()
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class StopperPayload:
    """Stops background tasks: one ``task`` of ``stage``, or every task of ``stage``."""

    stage: str
    task: str | None = None


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


@dataclass(frozen=True)
class StagePipeline:
    name: str
    stages: tuple[str, ...]


@dataclass(frozen=True)
class JobSpec:
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
    #: "nodeAssignments" (later BenchHub dialect) or "nodes" (earlier one)
    dialect: str = "nodeAssignments"

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


def effective_task_pipelines(stage: Stage) -> tuple[TaskPipeline, ...]:
    """A stage's task pipelines: explicit, or one ``autogen-N`` pipeline per task in order.

    Unnamed tasks are named ``task-N`` by the loader, so every task has a name here.
    """
    if stage.pipelines:
        return stage.pipelines
    return tuple(TaskPipeline(f"autogen-{i}", (t.name,)) for i, t in enumerate(stage.tasks))
