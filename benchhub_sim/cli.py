"""The ``benchhub-sim`` command.

Each subcommand is a small function ``cmd_NAME(args) -> int`` registered in
:func:`build_parser`. Bad input (any :class:`BenchhubSimError` that is about the input)
prints its problems one per line on stderr and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from benchhub_sim.errors import BenchhubSimError

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran, but what it ran failed (e.g. a job aborted)
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchhub-sim",
        description="Simulate, execute and replay BenchHub benchmark clusters.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    # Subcommands register themselves here, one block each.

    p = sub.add_parser("report", help="write an HTML (or Markdown) report of one or more runs")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="report file")
    p.add_argument("--format", choices=("html", "md"), default=None,
                   help="default: from the output's suffix (.md), else html")
    p.add_argument("--names", nargs="+", metavar="NAME", help="one label per run")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="write a run as an SWF trace or a Batsim jobs.csv")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--format", choices=("swf", "batsim-csv"), required=True)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("compare", help="one row of headline numbers per run")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument("--by-job", action="store_true",
                   help="also print per-job differences of each run against the first")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("validate", help="check job specs; one summary line per valid file")
    p.add_argument("specs", nargs="+", metavar="SPEC", help="job spec YAML files")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="bind a job to a cluster and print what runs where")
    p.add_argument("spec", metavar="SPEC", help="job spec YAML file")
    p.add_argument("--cluster", required=True, metavar="CLUSTER", help="cluster YAML or Parquet")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("graph", help="draw a job's stage graph")
    p.add_argument("spec", metavar="SPEC", help="job spec YAML file")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="image file (.png, .svg)")
    p.add_argument("--tasks", action="store_true", help="expand stages into tasks")
    p.set_defaults(func=cmd_graph)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
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


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the plan of one job on an idle cluster, as text or JSON."""
    import json

    from benchhub_sim.cluster import load_cluster
    from benchhub_sim.plan import plan_job
    from benchhub_sim.spec.load import load_spec

    plan = plan_job(load_spec(Path(args.spec)), load_cluster(Path(args.cluster)))
    print(json.dumps(plan.to_dict(), indent=2) if args.format == "json" else plan.to_text())
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw a spec's stage graph into an image file."""
    from matplotlib.figure import Figure

    from benchhub_sim.graph import plot_stage_graph, stage_graph
    from benchhub_sim.spec.load import load_spec

    graph = stage_graph(load_spec(Path(args.spec)), tasks=args.tasks)
    fig = Figure(figsize=(2.5 + 2 * len(graph.graph["pipelines"]), 4), layout="constrained")
    formats = fig.canvas.get_supported_filetypes()
    if Path(args.output).suffix.lstrip(".").lower() not in formats:
        print(f"error: {args.output}: expected one of .{', .'.join(formats)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    plot_stage_graph(graph, ax=fig.add_subplot())
    fig.savefig(args.output)
    print(f"wrote {args.output}")
    return EXIT_OK


def _load_runs(paths: Sequence[str]) -> list:
    from benchhub_sim.store.run import load_run

    return [load_run(Path(p)) for p in paths]


def _run_labels(paths: Sequence[str]) -> list[str]:
    labels = [Path(p).resolve().name or str(p) for p in paths]
    return [n if labels.index(n) == i else f"{n} ({i + 1})" for i, n in enumerate(labels)]


def cmd_report(args: argparse.Namespace) -> int:
    """Write one report of the given runs; print its path."""
    from benchhub_sim.analysis.report import write_report

    fmt = args.format or ("md" if Path(args.output).suffix.lower() == ".md" else "html")
    names = args.names or _run_labels(args.runs)
    if len(names) != len(args.runs):
        print(f"error: {len(names)} names for {len(args.runs)} runs", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = write_report(_load_runs(args.runs), args.output, names=names, format=fmt)
    print(out)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write a run as SWF or as Batsim's jobs.csv; print the path."""
    from benchhub_sim.analysis.export import to_batsim_csv
    from benchhub_sim.workload.swf import write_swf

    (run,) = _load_runs([args.run])
    write = write_swf if args.format == "swf" else to_batsim_csv
    print(write(run, args.output))
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """Print one row per run (jobs, makespan, waits, bounded slowdown, utilization)."""
    import pandas as pd

    from benchhub_sim.analysis.metrics import compare_jobs, compare_runs

    runs = _load_runs(args.runs)
    names = _run_labels(args.runs)
    cols = ["jobs", "finished", "aborted", "makespan", "mean_wait", "median_wait", "p95_wait",
            "mean_bounded_slowdown", "utilization"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(compare_runs(runs, names)[cols].to_string(float_format=lambda x: f"{x:.4g}"))
        if args.by_job:
            for run, name in zip(runs[1:], names[1:], strict=True):
                print(f"\nper job: {name} - {names[0]} (diff = b - a)")
                print(compare_jobs(runs[0], run).to_string(float_format=lambda x: f"{x:.4g}"))
    return EXIT_OK


def _version() -> str:
    from benchhub_sim import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BenchhubSimError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
