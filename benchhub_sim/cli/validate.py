"""``benchhub-sim validate``: check job specs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchhub_sim.cli.common import EXIT_BAD_INPUT, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check job specs; one summary line per valid file")
    p.add_argument("specs", nargs="+", metavar="SPEC", help="job spec YAML files")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Load every spec; print a summary per valid one, every problem of the others."""
    from benchhub_sim.errors import SpecError
    from benchhub_sim.spec.load import load_spec

    status = EXIT_OK
    for path in args.specs:
        try:
            spec = load_spec(Path(path))
        except SpecError as exc:
            for problem in exc.problems:
                print(str(problem), file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        n_tasks = sum(len(stage.tasks) for stage in spec.stages)
        print(
            f"{path}: ok: {spec.name} ({spec.dialect}): "
            f"{len(spec.node_assignments)} assignments, {len(spec.effective_pipelines())} pipelines, "
            f"{len(spec.stages)} stages, {n_tasks} tasks"
        )
    return status
