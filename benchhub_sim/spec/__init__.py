"""Job specs: the data model, loading (BenchHub's three dialects), validation, templates."""

from __future__ import annotations

from benchhub_sim.spec.dump import dump_spec
from benchhub_sim.spec.load import load_spec
from benchhub_sim.spec.model import (
    DIALECTS,
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
    effective_task_pipelines,
    stage_selectors,
    text_hash,
)
from benchhub_sim.spec.template import TemplateRef, parse_templates, render
from benchhub_sim.spec.validate import validate_spec
from benchhub_sim.spec.walltime import estimate_walltime

__all__ = [
    "DIALECTS",
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
    "OwnerType",
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
    "stage_selectors",
    "text_hash",
    "validate_spec",
]
