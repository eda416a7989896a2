"""The ``benchhub-sim`` command.

Each subcommand is a small function ``cmd_NAME(args) -> int`` registered in
:func:`build_parser`. Bad input (any :class:`BenchhubSimError` that is about the input)
prints its problems one per line on stderr and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from benchhub_sim.errors import BenchhubSimError, WorkloadError
from benchhub_sim.workload.base import JobRequest

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
    # One block per subcommand, in the order --help lists them.
    p = sub.add_parser("demo", help="run a mixed benchmark stream under three policies and report")
    p.add_argument("--out", default="benchhub-demo", metavar="DIR", help="default: ./benchhub-demo")
    p.add_argument(
        "--jobs", type=int, default=600, metavar="N", help="jobs in the stream (default 600)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

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

    p = sub.add_parser("simulate", help="run a workload on a cluster in virtual time")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--cluster", metavar="CLUSTER", help="cluster YAML or Parquet")
    where.add_argument("--nodes", type=int, metavar="N", help="N nodes of role any")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--jobs", metavar="JOBS", help="jobs file (spec, submit, count, ...)")
    what.add_argument("--spec", action="append", metavar="SPEC", help="job spec (repeatable)")
    p.add_argument(
        "--arrivals",
        metavar="PROCESS",
        help="with --spec: poisson:RATE (jobs/s) or fixed:EVERY (s); default: all at t=0",
    )
    p.add_argument("--count", type=int, default=None, help="with --spec: number of jobs")
    p.add_argument("--policy", default="fcfs", help="fcfs, easy, conservative, sjf, priority")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", metavar="RUN_DIR", help="write the run directory here")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in RUN_DIR")
    p.add_argument(
        "--default-duration",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds a task takes when its spec gives no duration (default 1)",
    )
    p.add_argument(
        "--max-loader-pack",
        type=int,
        default=1,
        metavar="K",
        help="loader slots of one job allowed on one node (default 1)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="execute jobs for real as local processes (wall clock)")
    p.add_argument("spec", nargs="?", metavar="SPEC", help="job spec YAML file")
    p.add_argument("--jobs", metavar="JOBS", help="jobs file (instead of SPEC)")
    p.add_argument(
        "--cluster",
        metavar="CLUSTER",
        help="cluster YAML or Parquet (default: one local node per node assignment)",
    )
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (required unless --dry-run)")
    p.add_argument(
        "--dry-run", action="store_true", help="print every command per node; run nothing"
    )
    p.add_argument("--policy", default="fcfs", help="queue policy (default: fcfs)")
    p.add_argument(
        "--grace", type=float, default=3.0, help="seconds from SIGTERM to SIGKILL (default: 3)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already in RUN_DIR")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "replay", help="replay a recorded run or an SWF trace under another policy/cluster"
    )
    p.add_argument("source", metavar="SOURCE", help="run directory, or trace .swf / .swf.gz")
    p.add_argument(
        "--policy",
        default=None,
        help="fcfs, easy, conservative, sjf, priority (default: the recorded run's, fcfs for a trace)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--nodes",
        type=int,
        metavar="N",
        help="N nodes of role any (a run: with its nodes' median capacity)",
    )
    where.add_argument("--cluster", metavar="CLUSTER", help="cluster YAML or Parquet")
    p.add_argument("--speedup", type=float, default=1.0, metavar="F", help="divide durations by F")
    p.add_argument(
        "--warm-start",
        type=float,
        default=None,
        metavar="T",
        help="start from the recorded run's state at time T (s)",
    )
    p.add_argument(
        "--faults",
        choices=("recorded", "none"),
        default="auto",
        help="the recording's node failures: recorded (default on the recorded cluster) "
        "or none (default with --nodes/--cluster)",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="default: the recorded run's seed, else 0"
    )
    p.add_argument(
        "--out", required=True, metavar="RUN_DIR", help="write the replay's run directory here"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already in RUN_DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("sweep", help="one replay per grid cell (policies x nodes x seeds); summary")
    p.add_argument(
        "--workload",
        required=True,
        metavar="WORKLOAD",
        help="SWF trace, run directory, or jobs file (YAML)",
    )
    p.add_argument(
        "--policies", type=_csv_of(str), metavar="P,..", help="queue policies (default: fcfs)"
    )
    p.add_argument(
        "--nodes",
        type=_csv_of(int),
        metavar="N,..",
        help="cluster sizes (default: the trace's or the recorded run's)",
    )
    p.add_argument(
        "--seeds",
        type=_csv_of(int),
        metavar="S,..",
        help="seeds (default: a recorded run's, else 0)",
    )
    p.add_argument(
        "--speedups",
        type=_csv_of(float),
        metavar="X,..",
        help="machines X times faster: task durations divided by X",
    )
    p.add_argument("--clusters", type=_csv_of(str), metavar="FILE,..", help="cluster files")
    p.add_argument(
        "--dask",
        metavar="local|tcp://HOST:PORT",
        help="run the cells on a Dask LocalCluster or on the scheduler at that address",
    )
    p.add_argument("--workers", type=int, metavar="N", help="local workers (default: CPU count)")
    p.add_argument("--out", required=True, metavar="DIR", help="sweep directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("compare", help="one row of headline numbers per run")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument(
        "--by-job",
        action="store_true",
        help="also print per-job differences of each run against the first",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("report", help="write an HTML (or Markdown) report of one or more runs")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="report file")
    p.add_argument(
        "--format",
        choices=("html", "md"),
        default=None,
        help="default: from the output's suffix (.md), else html",
    )
    p.add_argument("--names", nargs="+", metavar="NAME", help="one label per run")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="write a run as an SWF trace or a Batsim jobs.csv")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--format", choices=("swf", "batsim-csv"), required=True)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file")
    p.set_defaults(func=cmd_export)
    return parser


def _csv_of(kind: type) -> Callable[[str], list]:
    """An argparse type: a comma-separated list of ``kind`` values."""

    def parse(text: str) -> list:
        try:
            values = [kind(v.strip()) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected comma-separated {kind.__name__} values"
            ) from None
        if not values:
            raise argparse.ArgumentTypeError(f"{text!r}: no value given")
        return values

    return parse


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the grid, print one row per cell; exit 1 if a cell failed."""
    import pandas as pd

    from benchhub_sim.sweep import SUMMARY_FILE, sweep

    grid: dict[str, list] = {"policy": args.policies or ["fcfs"]}
    if args.nodes:
        grid["nodes"] = args.nodes
    if args.seeds:
        grid["seed"] = args.seeds
    if args.speedups:
        grid["speedup"] = args.speedups
    if args.clusters:
        grid["cluster"] = args.clusters
    executor = None if args.dask is None else ("dask" if args.dask == "local" else args.dask)
    df = sweep(
        args.workload,
        grid,
        out=args.out,
        executor=executor,
        max_workers=args.workers,
        progress=False if args.quiet else None,
    )
    cols = [
        "cell",
        "status",
        "jobs",
        "makespan",
        "mean_wait",
        "p95_wait",
        "mean_bounded_slowdown",
        "utilization",
        "elapsed",
    ]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        table = df[[c for c in cols if c in df]].set_index("cell")
        print(table.to_string(float_format=_fmt))
    failed = df[df["status"] != "ok"]
    for row in failed.itertuples():
        print(f"  {row.cell}: {row.error}", file=sys.stderr)
    print(
        f"{len(df)} cells: {len(df) - len(failed)} ok, {len(failed)} failed"
        f" ({df.attrs.get('skipped', 0)} already done, skipped)"
    )
    print(f"summary: {Path(args.out) / SUMMARY_FILE}")
    return EXIT_FAILED if len(failed) else EXIT_OK


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
    cols = [
        "jobs",
        "finished",
        "aborted",
        "makespan",
        "mean_wait",
        "median_wait",
        "p95_wait",
        "mean_bounded_slowdown",
        "utilization",
    ]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(compare_runs(runs, names)[cols].to_string(float_format=_fmt))
        if args.by_job:
            for run, name in zip(runs[1:], names[1:], strict=True):
                print(f"\nper job: {name} - {names[0]} (diff = b - a)")
                print(compare_jobs(runs[0], run).to_string(float_format=_fmt))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Execute the jobs (or list their commands); exit 1 if a job aborted."""
    from benchhub_sim.execute import dry_run, execute

    if (args.spec is None) == (args.jobs is None):
        print("error: give a SPEC or --jobs JOBS.yml (one of them)", file=sys.stderr)
        return EXIT_BAD_INPUT
    workload = Path(args.jobs or args.spec)
    if args.dry_run:
        print(dry_run(args.cluster, workload))
        return EXIT_OK
    if args.out is None:
        print("error: --out RUN_DIR is required (or --dry-run)", file=sys.stderr)
        return EXIT_BAD_INPUT
    run = execute(
        args.cluster,
        workload,
        out=args.out,
        policy=args.policy,
        grace=args.grace,
        overwrite=args.overwrite,
    )
    jobs = run.jobs
    aborted = jobs[jobs["status"] == "aborted"]
    for row in aborted.itertuples():
        print(f"job {row.job_id} {row.name}: aborted: {row.reason}", file=sys.stderr)
    n_aborted = len(aborted)
    print(f"{len(jobs)} jobs: {len(jobs) - n_aborted} finished, {n_aborted} aborted")
    print(f"run directory: {args.out}")
    return EXIT_FAILED if n_aborted else EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from benchhub_sim.progress import job_progress, wants_progress
    from benchhub_sim.simulate import as_cluster, simulate
    from benchhub_sim.workload.arrivals import parse_arrivals

    cluster = as_cluster(args.nodes if args.nodes is not None else args.cluster)
    if args.jobs:
        from benchhub_sim.workload.jobsfile import load_jobs

        if args.arrivals or args.count:
            raise WorkloadError(["--arrivals and --count go with --spec, not --jobs"])
        jobs = load_jobs(args.jobs)
        total: int | None = len(jobs)
        workload: Iterable[JobRequest] = jobs
        inputs = {"jobs": args.jobs}
    else:
        from benchhub_sim.spec.load import load_spec

        specs = [load_spec(s) for s in args.spec]
        count = args.count if args.count is not None else len(specs)
        workload = parse_arrivals(args.arrivals, specs, count=count, seed=args.seed)
        total = count
        inputs = {"specs": args.spec, "arrivals": args.arrivals or "all at 0", "count": count}
    with job_progress(total, "simulate", enabled=wants_progress(args.quiet)) as progress:
        run = simulate(
            cluster,
            workload,
            policy=args.policy,
            seed=args.seed,
            out=args.out,
            overwrite=args.overwrite,
            default_duration=args.default_duration,
            max_loader_pack=args.max_loader_pack,
            progress=progress,
            inputs=inputs,
        )
    print(_summary_line(run))
    _print_abort_reasons(run)
    if args.out:
        print(f"run directory: {args.out}")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay a run directory or an SWF trace; print the one-line summary."""
    from benchhub_sim.progress import job_progress, wants_progress
    from benchhub_sim.store.run import Run
    from benchhub_sim.workload.replay import open_source, replay

    source = open_source(args.source)
    total = len(source.jobs) if isinstance(source, Run) and args.warm_start is None else None
    with job_progress(total, "replay", enabled=wants_progress(args.quiet)) as progress:
        run = replay(
            source,
            policy=args.policy,
            cluster=args.cluster,
            nodes=args.nodes,
            speedup=args.speedup,
            warm_start=args.warm_start,
            faults=args.faults,
            seed=args.seed,
            out=args.out,
            overwrite=args.overwrite,
            progress=progress,
        )
    opts = (run.meta.get("inputs") or {}).get("replay", {})
    print(_summary_line(run))
    if opts.get("skipped"):
        print(f"  skipped {opts['skipped']} job(s) of the source (no run time, or too many nodes)")
    if opts.get("faults_dropped"):
        print(
            f"  dropped {opts['faults_dropped']} recorded node failure(s) of nodes not in the "
            "replay cluster"
        )
    _print_abort_reasons(run)
    print(f"run directory: {args.out}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo; print where the runs and the report are, and the compare table."""
    import pandas as pd

    from benchhub_sim.demo import DEMO_POLICIES, run_demo
    from benchhub_sim.progress import job_progress, wants_progress

    total = args.jobs * len(DEMO_POLICIES)
    with job_progress(total, "demo", enabled=wants_progress(args.quiet)) as progress:
        result = run_demo(args.out, jobs=args.jobs, progress=progress)
    for policy, run in result.runs.items():
        print(f"{policy}: {run.path}")
    print(f"report: {result.report}")
    cols = ["jobs", "finished", "aborted", "makespan", "mean_wait", "p95_wait",
            "mean_bounded_slowdown", "utilization"]  # fmt: skip
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.table[cols].to_string(float_format=_fmt))
    return EXIT_OK


def _print_abort_reasons(run: object, most: int = 3) -> None:
    reasons = run.jobs.loc[run.jobs.status == "aborted", "reason"].value_counts()  # type: ignore[attr-defined]
    for reason, n in reasons.head(most).items():
        print(f"  aborted x{n}: {reason}")


def _summary_line(run: object) -> str:
    from benchhub_sim.analysis.metrics import summary

    s = summary(run)
    return (
        f"jobs {s['jobs']}: {s['finished']} finished, {s['aborted']} aborted; "
        f"makespan {s['makespan']:,.1f} s; mean wait {s['mean_wait']:,.2f} s; "
        f"utilization {s['utilization']:.1%}"
    )


def _fmt(x: float) -> str:
    """Numbers for tables: thousands as whole numbers, the rest to 4 significant digits."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


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
