"""What the subcommands share: exit codes, argument types, run loading and printing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchhub_sim.errors import stalled_message
from benchhub_sim.params import arg_type, number, whole

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran, but what it ran failed (e.g. a job aborted)
EXIT_BAD_INPUT = 2


def csv_of(kind: Callable[[str], Any]) -> Callable[[str], list]:
    """An argparse type: a comma-separated list of ``kind`` values (a type, or an
    argparse type such as :func:`positive_int`)."""

    def parse(text: str) -> list:
        values = []
        for item in (v.strip() for v in text.split(",")):
            if not item:
                continue
            try:
                values.append(kind(item))
            except argparse.ArgumentTypeError as exc:
                raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{text!r}: expected comma-separated {kind.__name__} values"
                ) from None
        if not values:
            raise argparse.ArgumentTypeError(f"{text!r}: no value given")
        return values

    return parse


#: argparse types of the package's parameter rules (:mod:`benchhub_sim.params`)
positive_int = arg_type(int, whole)  # sizes, counts, workers
seed_int = arg_type(int, whole, minimum=0)
positive_float = arg_type(float, number, above=0)  # rates, speedups
nonnegative_float = arg_type(float, number, at_least=0)  # durations, times


def load_runs(paths: Sequence[str]) -> list:
    from benchhub_sim.store.run import load_run

    return [load_run(Path(p)) for p in paths]


def run_labels(paths: Sequence[str]) -> list[str]:
    labels = [Path(p).resolve().name or str(p) for p in paths]
    return [n if labels.index(n) == i else f"{n} ({i + 1})" for i, n in enumerate(labels)]


def print_abort_reasons(run: object, most: int = 3) -> None:
    reasons = run.jobs.loc[run.jobs.status == "aborted", "reason"].value_counts()  # type: ignore[attr-defined]
    for reason, n in reasons.head(most).items():
        print(f"  aborted x{n}: {reason}")


#: what the reasons of ``run.json``'s ``skipped`` mean
SKIP_REASONS = {
    "no_run_time": "no run time",
    "no_size": "no node count",
    "too_large": "more nodes than the cluster",
}


def print_skipped(run: object) -> None:
    """One line when the run's workload left jobs of its input out (``run.json``'s ``skipped``)."""
    skipped: Mapping[str, int] = (run.meta or {}).get("skipped") or {}  # type: ignore[attr-defined]
    if sum(skipped.values()):
        reasons = ", ".join(
            f"{n} {reason} ({SKIP_REASONS.get(reason, reason)})" for reason, n in skipped.items()
        )
        print(f"  skipped {sum(skipped.values())} job(s) of the source: {reasons}")


def summary_line(run: object) -> str:
    from benchhub_sim.analysis.metrics import summary

    s = summary(run)
    return (
        f"jobs {s['jobs']}: {s['finished']} finished, {s['aborted']} aborted; "
        f"makespan {s['makespan']:,.1f} s; mean wait {s['mean_wait']:,.2f} s; "
        f"utilization {s['utilization']:.1%}"
    )


def fmt(x: float) -> str:
    """Numbers for tables: thousands as whole numbers, the rest to 4 significant digits."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def report_stalled(run: Any) -> int:
    """Print a stalled run's line on stderr: EXIT_FAILED when jobs never ended, else EXIT_OK."""
    if not run.stalled:
        return EXIT_OK
    print(f"stalled: {stalled_message(run.stalled)}", file=sys.stderr)
    return EXIT_FAILED
