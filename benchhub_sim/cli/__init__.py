"""The ``benchhub-sim`` command.

One module per subcommand, each with ``add_parser(sub)`` (its options) and
``main(args) -> int`` (what it does); :data:`~benchhub_sim.cli.common.COMMANDS` lists
them, with their one-line summaries, in the order ``--help`` shows them. Only the chosen
subcommand's module is imported, so that ``--help`` and a command start at once.

Bad input (any :class:`BenchhubSimError` that is about the input) prints its problems one
per line on stderr and exits 2, without a traceback; so does a file that cannot be read
or written. A warning prints as one ``warning: ...`` line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Collection, Sequence
from types import ModuleType
from typing import Any, TextIO

from benchhub_sim.cli.common import COMMANDS, EXIT_BAD_INPUT, EXIT_OK, HelpFormatter
from benchhub_sim.errors import BenchhubSimError, StalledRunWarning

_EPILOG = """\
start here:
  benchhub-sim demo                 600 jobs under four policies, one HTML report
  benchhub-sim examples --copy ex   example specs, clusters, jobs files and a trace
  benchhub-sim COMMAND --help       what a command does, its options, examples

exit status: 0 ok; 1 the command ran, but what it ran failed or stalled; 2 bad input
"""


def command_module(name: str) -> ModuleType:
    """The module of the subcommand ``name`` (a key of ``COMMANDS``)."""
    return importlib.import_module(f"benchhub_sim.cli.{name}")


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``benchhub-sim`` parser.

    Parameters
    ----------
    commands : collection of str, optional
        The subcommands to build in full (their modules are imported); the others are
        listed by name and summary only. Default: every subcommand.
    """
    parser = argparse.ArgumentParser(
        prog="benchhub-sim",
        description="Simulate, execute and replay BenchHub benchmark clusters.",
        epilog=_EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, summary in COMMANDS.items():
        if commands is None or name in commands:
            command_module(name).add_parser(sub)
        else:
            sub.add_parser(name, help=summary)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first argument that is not an option."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _version() -> str:
    from benchhub_sim._version import __version__

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
    if argv is None:
        argv = sys.argv[1:]
    chosen = chosen_command(argv)
    parser = build_parser([chosen] if chosen else [])
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
