"""Job specs: the data model, loading (both BenchHub dialects), validation, templates."""

from __future__ import annotations

from benchhub_sim.spec.dump import dump_spec
from benchhub_sim.spec.load import load_spec
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
    effective_task_pipelines,
)
from benchhub_sim.spec.template import TemplateRef, parse_templates, render
from benchhub_sim.spec.validate import validate_spec
from benchhub_sim.spec.walltime import estimate_walltime

__all__ = [
    "DISTRIBUTIONS",
    "DockerAction",
    "DockerPayload",
    "DockerPort",
    "Driver",
    "Duration",
    "ExecPayload",
    "JobSpec",
    "NodeAssignment",
    "Owner",
    "Requirements",
    "Role",
    "Selector",
    "ShellPayload",
    "Stage",
    "StagePipeline",
    "StopperPayload",
    "Task",
    "TaskPipeline",
    "TemplateRef",
    "Workload",
    "dump_spec",
    "effective_task_pipelines",
    "estimate_walltime",
    "load_spec",
    "parse_templates",
    "render",
    "validate_spec",
]
