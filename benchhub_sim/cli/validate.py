"""``benchhub-sim validate``: check job specs, cluster files and jobs files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchhub_sim.cli.common import EXIT_BAD_INPUT, EXIT_OK, add_command
from benchhub_sim.display import plural

#: what each kind of file is called in the messages
KIND_NAMES = {"spec": "job spec", "cluster": "cluster file", "jobs": "jobs file"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "validate",
        description="""
        Check job specs (both BenchHub dialects), cluster files and jobs files, each
        recognised by its content: a list of '- info:' nodes, an agent's 'node:' or a
        'nodes:' list of 'id' entries is a cluster, 'jobs:' a jobs file, anything else
        a job spec. A valid file gets one summary line; an invalid one every problem,
        one per line as FILE:LINE: PLACE: MESSAGE on stderr, and the exit status is 2.
        """,
        examples=[
            "benchhub-sim validate specs/*.yml",
            "benchhub-sim validate clusters/64.yml jobs/mix.yml",
        ],
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="job spec, cluster or jobs file (YAML)")
    p.set_defaults(func=main)


def file_kind(data: Any) -> str:
    """``"cluster"``, ``"jobs"`` or ``"spec"``: what a parsed YAML document looks like.

    A job spec has stages, and its earlier dialect has ``nodes: [{name, type}]``; a
    compact cluster has ``nodes: [{id, ...}]`` and no stages.
    """
    if isinstance(data, list):
        entries = [d for d in data if isinstance(d, Mapping)]
        return "cluster" if entries and all("info" in d for d in entries) else "spec"
    if not isinstance(data, Mapping) or "stages" in data:
        return "spec"
    if "jobs" in data:
        return "jobs"
    if "node" in data:
        return "cluster"
    nodes = data.get("nodes")
    if (
        isinstance(nodes, list)
        and nodes
        and all(isinstance(n, Mapping) and "id" in n for n in nodes)
    ):
        return "cluster"
    return "spec"


def _sniff(path: Path) -> str:
    import yaml

    try:
        return file_kind(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError):
        return "spec"  # the spec loader says where the YAML breaks


def _check(path: Path, kind: str) -> str:
    """Load ``path`` as ``kind``; the summary line of a valid file (raises otherwise)."""
    if kind == "cluster":
        from benchhub_sim.cluster import load_cluster

        cluster = load_cluster(path)
        roles = ", ".join(f"{r} {n}" for r, n in cluster.role_counts().items())
        return f"cluster {cluster.name or path.stem}: {plural(len(cluster), 'node')} ({roles})"
    if kind == "jobs":
        from benchhub_sim.workload.jobsfile import load_jobs

        jobs = load_jobs(path)
        names = sorted({j.spec.name for j in jobs})
        span = f", submitted {jobs[0].submit:g} .. {jobs[-1].submit:g} s" if jobs else ""
        specs = f"{plural(len(names), 'spec')} ({', '.join(names)})"
        return f"jobs file: {plural(len(jobs), 'job')} of {specs}{span}"
    from benchhub_sim.spec.load import load_spec

    spec = load_spec(path)
    n_tasks = sum(len(stage.tasks) for stage in spec.stages)
    return (
        f"{spec.name} ({spec.dialect}): {plural(len(spec.node_assignments), 'assignment')}, "
        f"{plural(len(spec.effective_pipelines()), 'pipeline')}, "
        f"{plural(len(spec.stages), 'stage')}, {plural(n_tasks, 'task')}"
    )


def main(args: argparse.Namespace) -> int:
    """Check every file; print a summary per valid one, every problem of the others."""
    from benchhub_sim.errors import ProblemsError

    status = EXIT_OK
    for name in args.files:
        path = Path(name)
        kind = "spec"
        try:
            kind = _sniff(path)
            line = _check(path, kind)
        except ProblemsError as exc:
            if kind != "spec":
                print(f"{name}: read as a {KIND_NAMES[kind]}:", file=sys.stderr)
            for problem in exc.problems:
                print(str(problem), file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        except OSError as exc:
            print(f"{name}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        print(f"{name}: ok: {line}")
    return status
