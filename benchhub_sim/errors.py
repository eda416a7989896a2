"""Exception hierarchy: one base class, one subclass per layer.

Every subclass also derives from the matching built-in, so ``except ValueError``
keeps working for callers that do not know this package.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class BenchhubSimError(Exception):
    """Base class of every error raised by benchhub_sim."""


class Problem:
    """One located problem found while validating an input file.

    Parameters
    ----------
    where : str
        The file name (or ``<string>``), empty when unknown.
    line : int or None
        1-based line number in that file, when known.
    path : str
        The place inside the document, e.g. ``stages[3].selectors``.
    message : str
        What is wrong, and what was expected.
    """

    __slots__ = ("where", "line", "path", "message")

    def __init__(self, where: str, line: int | None, path: str, message: str) -> None:
        self.where = where
        self.line = line
        self.path = path
        self.message = message

    def __str__(self) -> str:
        loc = self.where or "<input>"
        if self.line is not None:
            loc = f"{loc}:{self.line}"
        return f"{loc}: {self.path}: {self.message}" if self.path else f"{loc}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Problem):
            return NotImplemented
        return (self.where, self.line, self.path, self.message) == (
            other.where,
            other.line,
            other.path,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.where, self.line, self.path, self.message))


class ProblemsError(BenchhubSimError):
    """An error that carries every problem found, one per line in its message."""

    def __init__(self, problems: Iterable[Problem | str]) -> None:
        self.problems: list[Problem | str] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecError(ProblemsError, ValueError):
    """A job spec (or a jobs file) is malformed or inconsistent."""


class ClusterError(ProblemsError, ValueError):
    """A cluster file is malformed or inconsistent."""


class ScheduleError(BenchhubSimError, ValueError):
    """No node assignment or schedule exists for a job."""


class StoreError(BenchhubSimError, ValueError):
    """An illegal transition was asked of the node store or the job store."""


class RunFormatError(BenchhubSimError, OSError):
    """A run directory or one of its files cannot be read: damaged, missing, wrong version."""


class WorkloadError(ProblemsError, ValueError):
    """A workload (jobs file, trace, recorded run) cannot be turned into jobs."""


class UsageError(BenchhubSimError, TypeError):
    """A function was given an argument of the wrong kind (e.g. ``summary({})``)."""


class BenchhubSimWarning(UserWarning):
    """Base class of the package's warnings."""


class StalledRunWarning(BenchhubSimWarning):
    """A run ended with jobs still queued or running: nothing left could move them."""


def stalled_message(stalled: dict[str, Any]) -> str:
    """One sentence for a run's ``stalled`` record (see :attr:`Engine.stalled
    <benchhub_sim.engine.engine.Engine.stalled>`): how many jobs, the first ids, why."""
    ids = stalled["job_ids"]
    shown = ", ".join(str(i) for i in ids[:5])
    more = ", ..." if stalled["count"] > len(ids[:5]) else ""
    return (
        f"{stalled['count']} job(s) never ended ({stalled['queued']} queued, "
        f"{stalled['running']} running; job ids {shown}{more}): {stalled['reason']}"
    )
