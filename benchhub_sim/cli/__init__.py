"""The ``benchhub-sim`` command.

One module per subcommand, each with ``add_parser(sub)`` (its options) and
``main(args) -> int`` (what it does); :func:`build_parser` lists them in the order
``--help`` shows them. Bad input (any :class:`BenchhubSimError` that is about the input)
prints its problems one per line on stderr and exits 2, without a traceback; so does a
file that cannot be read or written. A warning prints as one ``warning: ...`` line.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

from benchhub_sim.cli import (
    agents,
    compare,
    demo,
    examples,
    export,
    fit,
    graph,
    plan,
    replay,
    report,
    run,
    simulate,
    sweep,
    validate,
)
from benchhub_sim.cli.common import EXIT_BAD_INPUT, EXIT_OK, HelpFormatter
from benchhub_sim.errors import BenchhubSimError, StalledRunWarning

#: the subcommands, in the order ``--help`` lists them
COMMANDS = (
    demo,
    examples,
    validate,
    plan,
    graph,
    simulate,
    run,
    agents,
    fit,
    replay,
    sweep,
    compare,
    report,
    export,
)

_EPILOG = """\
start here:
  benchhub-sim demo                 600 jobs under four policies, one HTML report
  benchhub-sim examples --copy ex   example specs, clusters, jobs files and a trace
  benchhub-sim COMMAND --help       what a command does, its options, examples

exit status: 0 ok; 1 the command ran, but what it ran failed or stalled; 2 bad input
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchhub-sim",
        description="Simulate, execute and replay BenchHub benchmark clusters.",
        epilog=_EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _version() -> str:
    from benchhub_sim import __version__

    return __version__


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """:func:`warnings.showwarning` for the command: ``warning: MESSAGE`` on one line."""
    text = "; ".join(part.strip() for part in str(message).splitlines() if part.strip())
    print(f"warning: {text}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():  # Python's own format and filters come back after
        warnings.showwarning = show_warning
        # the commands print a stalled run's line themselves (cli.common.report_stalled)
        warnings.simplefilter("ignore", StalledRunWarning)
        return _run(args)


def _run(args: Any) -> int:
    try:
        return int(args.func(args) or 0)
    except BenchhubSimError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # e.g. an output that is a directory, or not writable
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
