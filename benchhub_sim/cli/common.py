"""What the subcommands share: exit codes, argument types, run loading and printing."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchhub_sim.errors import stalled_message
from benchhub_sim.params import arg_type, number, whole

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran, but what it ran failed (e.g. a job aborted)
EXIT_BAD_INPUT = 2

#: the subcommands, in the order ``--help`` lists them, and their one-line summaries
COMMANDS: dict[str, str] = {
    "demo": "run a mixed benchmark stream under four policies and report",
    "examples": "list the shipped example specs, clusters, jobs files and traces; copy them",
    "validate": "check job specs, cluster files and jobs files; one line per valid file",
    "plan": "bind a job to a cluster and print what runs where",
    "graph": "draw a job's stage graph",
    "simulate": "run a workload on a cluster in virtual time",
    "run": "execute jobs for real: local processes, or on Dask workers (wall clock)",
    "agents": "list the Dask workers that can be nodes (a cluster for run --dask)",
    "fit": "fit task durations to real runs: a spec to simulate",
    "replay": "replay a recorded run or an SWF trace under another policy/cluster",
    "sweep": "one replay per grid cell (policies x nodes x seeds); summary",
    "compare": "one row of headline numbers per run",
    "report": "write an HTML (or Markdown) report of one or more runs",
    "export": "write a run as an SWF trace or a Batsim jobs.csv",
}


def policy_help() -> str:
    """The help of every ``--policy``: the built-in policies, and how to add one."""
    from benchhub_sim.sched.policies import POLICIES

    return f"queue policy: {', '.join(POLICIES)}, or module:function of your own"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` as written: the description and the examples keep their lines, and
    every option says its default (in its help text, or appended from its default)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "default" in text
            or not action.option_strings
            or action.required
            or action.nargs == 0  # flags: off unless given
            or action.default in (None, argparse.SUPPRESS)
        ):
            return text
        return f"{text} (default: %(default)s)"


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    *,
    description: str,
    examples: Sequence[str],
    more: str = "",
) -> argparse.ArgumentParser:
    """A subcommand's parser, with the help every subcommand has.

    Parameters
    ----------
    sub : the subparsers of the ``benchhub-sim`` parser
    name : str
        A key of :data:`COMMANDS`, whose one-line summary it shows in the list of
        commands.
    description : str
        One paragraph (re-wrapped) on what the command does and writes.
    examples : sequence of str
        Command lines, shown under ``examples:`` at the end of ``--help``.
    more : str
        Text shown as written before the examples (e.g. a file format).
    """
    paragraph = textwrap.fill(" ".join(description.split()), width=78)
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    if more:
        epilog = more.rstrip() + "\n\n" + epilog
    return sub.add_parser(
        name,
        help=COMMANDS[name],
        description=paragraph,
        epilog=epilog,
        formatter_class=HelpFormatter,
    )


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


def output_problem(path: str) -> str | None:
    """What is wrong with writing the file ``path``: its directory is missing, or None."""
    folder = Path(path).parent
    if folder.is_dir():
        return None
    what = "is not a directory" if folder.exists() else "does not exist"
    return f"{path}: the directory {folder} {what}"


def load_runs(paths: Sequence[str]) -> list:
    from benchhub_sim.store.run import load_run

    return [load_run(Path(p)) for p in paths]


def run_labels(paths: Sequence[str]) -> list[str]:
    labels = [Path(p).resolve().name or str(p) for p in paths]
    return [n if labels.index(n) == i else f"{n} ({i + 1})" for i, n in enumerate(labels)]


def print_abort_reasons(run: object, most: int = 3) -> None:
    """The ``most`` commonest reasons jobs aborted, one line each. Reads two columns of
    the jobs table, not the table (a 10M-job run's took 8 GB to say nothing aborted)."""
    rows_table = getattr(run, "rows_table", None)
    if callable(rows_table):
        import pyarrow as pa
        import pyarrow.compute as pc

        jobs = rows_table("jobs", ["status", "reason"])
        aborted = jobs.filter(pc.equal(jobs["status"], pa.scalar("aborted")))
        if not aborted.num_rows:
            return
        reasons = aborted["reason"].to_pandas().value_counts()
    else:
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
    """One line: jobs by outcome (unfinished ones only when there are some), makespan,
    mean wait and utilization, each formatted as every table shows it."""
    from benchhub_sim.analysis.fields import SUMMARY_FIELDS, format_value
    from benchhub_sim.analysis.headline import headline

    s = headline(run)
    if s is None:  # the nodes jobs held are in the history: pandas reads it
        from benchhub_sim.analysis.metrics import summary

        s = summary(run)

    def show(name: str) -> str:
        return format_value(s[name], SUMMARY_FIELDS[name].fmt) or "n/a"

    unfinished = f", {s['unfinished']} unfinished" if s["unfinished"] else ""
    return (
        f"jobs {s['jobs']}: {s['finished']} finished, {s['aborted']} aborted{unfinished}; "
        f"makespan {show('makespan_s')} s; mean wait {show('mean_wait_s')} s; "
        f"utilization {show('utilization')}"
    )


def print_table(df: object, columns: Sequence[str] | None = None, *, seconds: bool = False) -> None:
    """Print a table of runs, cells or jobs, each known column in its unit's format.

    With ``seconds``, every column not known to :data:`SUMMARY_FIELDS` is in seconds
    (two decimals); otherwise such columns get 4 significant digits.
    """
    import pandas as pd

    from benchhub_sim.analysis.display import formatter, formatters

    frame = pd.DataFrame(df)
    if columns is not None:
        frame = frame[[c for c in columns if c in frame]]
    shown = formatters(frame.columns)
    if seconds:
        shown = dict.fromkeys(frame.columns, formatter(",.2f"))
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(frame.to_string(formatters=shown))


def report_stalled(run: Any) -> int:
    """Print a stalled run's line on stderr: EXIT_FAILED when jobs never ended, else EXIT_OK."""
    if not run.stalled:
        return EXIT_OK
    print(f"stalled: {stalled_message(run.stalled)}", file=sys.stderr)
    return EXIT_FAILED


def add_dask_options(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    """``--dask ADDRESS`` and the TLS files to reach it (the options ``dask worker`` takes)."""
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        required=required,
        help="Dask scheduler (tcp://host:8786, tls://...): each node is the worker named "
        "like it (dask worker ADDRESS --name NODE_ID)"
        + ("" if required else " (default: every node is this machine)"),
    )
    tls = " (default: Dask's TLS configuration, if any)"
    p.add_argument("--tls-ca-file", metavar="PEM", help="CA certificate of the Dask cluster" + tls)
    p.add_argument("--tls-cert", metavar="PEM", help="this client's TLS certificate" + tls)
    p.add_argument("--tls-key", metavar="PEM", help="this client's TLS key" + tls)


def dask_security(args: argparse.Namespace) -> object | None:
    """A ``distributed.security.Security`` of ``--tls-*`` (None: Dask's configuration)."""
    from benchhub_sim.errors import ClusterError

    files = {
        "--tls-ca-file": args.tls_ca_file,
        "--tls-cert": args.tls_cert,
        "--tls-key": args.tls_key,
    }
    given = [k for k, v in files.items() if v]
    if not given:
        return None
    if len(given) < len(files):
        missing = ", ".join(k for k in files if k not in given)
        raise ClusterError([f"{', '.join(given)} given without {missing}: give all three"])
    for option, path in files.items():
        if not Path(path).is_file():
            raise ClusterError([f"{option} {path}: no such file"])
    from distributed.security import Security

    return Security(
        tls_ca_file=args.tls_ca_file,
        tls_client_cert=args.tls_cert,
        tls_client_key=args.tls_key,
        require_encryption=True,
    )
