"""``benchhub-sim fit``: task durations fitted to real runs, as a spec to simulate."""

from __future__ import annotations

import argparse

from benchhub_sim.cli.common import EXIT_OK, add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "fit",
        description="""
        Fit each task's duration to the task and readiness times of real runs of one
        spec: constant, exponential, normal or lognormal, each with its
        maximum-likelihood parameters, the one with the lowest AIC chosen (a background
        task: its time to ready). Writes the spec, in its own dialect, with those
        durations, and prints one line per task. Each task needs --min-samples
        observations (every successful attempt on every node counts).
        """,
        examples=[
            "benchhub-sim fit runs/real-1 runs/real-2 -o fitted.yml",
            "benchhub-sim fit runs/real-* --spec spec.yml --min-samples 3 -o fitted.yml",
        ],
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories of real runs")
    p.add_argument(
        "--spec",
        metavar="SPEC",
        help="the spec to fit (default: the one the runs' jobs were submitted with)",
    )
    p.add_argument("-o", "--output", required=True, metavar="FITTED", help="fitted spec (YAML)")
    p.add_argument(
        "--min-samples",
        type=int,
        default=5,
        metavar="N",
        help="observations needed per task (default: 5)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Write the fitted spec; print one line per task."""
    from benchhub_sim.analysis.calibrate import write_fitted
    from benchhub_sim.cli.common import load_runs

    path, fits = write_fitted(
        load_runs(args.runs), args.output, args.spec, min_samples=args.min_samples
    )
    width = max(len(f"{f.stage}.{f.task}") for f in fits) if fits else 0
    for f in fits:
        params = ", ".join(f"{k}={v:.4g}" for k, v in f.duration.params)
        print(
            f"{f.stage + '.' + f.task:<{width}}  {f.measure:<5} n={f.n:<4} "
            f"mean {f.observed_mean:.4g} s -> {f.duration.dist}({params})"
        )
    print(f"fitted spec: {path}")
    return EXIT_OK
