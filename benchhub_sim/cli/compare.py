"""``benchhub-sim compare``: one row of headline numbers per run."""

from __future__ import annotations

import argparse

from benchhub_sim.cli.common import EXIT_OK, add_command, load_runs, print_table, run_labels

#: the columns printed, in this order (compare_runs has the throughput too)
COLUMNS = ("policy", "nodes", "jobs", "finished", "aborted", "unfinished", "makespan_s",
           "mean_wait_s", "median_wait_s", "p95_wait_s", "mean_bounded_slowdown",
           "utilization")  # fmt: skip
#: per-job rows shown without --all
FIRST_ROWS = 20


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "compare",
        description="""
        Print one row of headline numbers per run: policy, nodes, jobs by outcome,
        makespan, mean/median/p95 wait, mean bounded slowdown (tau = 10 s) and
        utilization, each in its unit (times in seconds). --by-job adds, for runs of
        the same jobs, each job's wait, start and runtime in the first run (a) and in
        each other run (b), and b - a. --stages adds each stage's durations (count,
        median, mean) in the first run and in each other one, with the two-sample
        Kolmogorov-Smirnov distance: a real run against a simulation of its fitted spec.
        """,
        examples=[
            "benchhub-sim compare runs/fcfs runs/easy",
            "benchhub-sim compare runs/fcfs runs/easy --by-job --all > per-job.txt",
            "benchhub-sim compare runs/real runs/sim-of-fitted --stages",
        ],
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument(
        "--by-job",
        action="store_true",
        help="also print per-job differences of each run against the first",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help=f"with --by-job: every job (default: the first {FIRST_ROWS})",
    )
    p.add_argument(
        "--stages",
        action="store_true",
        help="also print each stage's durations in each run against the first, with the "
        "Kolmogorov-Smirnov distance (a real run against a simulation of its fitted spec)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Print one row per run; with --by-job, per-job differences against the first run."""
    from benchhub_sim.analysis.metrics import compare_jobs, compare_runs

    runs = load_runs(args.runs)
    names = run_labels(args.runs)
    print_table(compare_runs(runs, names), COLUMNS)
    if args.by_job:
        for run, name in zip(runs[1:], names[1:], strict=True):
            per_job = compare_jobs(runs[0], run)
            print(f"\nper job (s): a = {names[0]}, b = {name}, diff = b - a")
            shown = per_job if args.all else per_job.head(FIRST_ROWS)
            print_table(shown, seconds=True)
            if len(shown) < len(per_job):
                print(f"... {len(per_job) - len(shown)} more jobs (--all shows every job)")
    if args.stages:
        from benchhub_sim.analysis.calibrate import compare_stages

        for run, name in zip(runs[1:], names[1:], strict=True):
            print(f"\nstage durations (s): {names[0]} against {name}")
            print_table(compare_stages(runs[0], run, names=(names[0], name)))
    return EXIT_OK
