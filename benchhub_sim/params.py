"""One rule per numeric parameter, shared by every entry point.

``simulate``, ``replay``, ``sweep``, ``execute``, the arrival processes and the command
line check their numbers with these rules, so a value is refused (or accepted) the same
way wherever it is given. A rule returns ``None`` when the value is good, else the
problem as a sentence naming the parameter, what was expected and what was found;
:func:`require` raises one error listing every problem found. The command line builds
its option types from the same rules (:func:`arg_type`), so ``--nodes 0`` is refused
by argparse with the sentence ``bh.simulate(0, ...)`` raises.

Examples
--------
>>> whole("nodes", 0)
'nodes: expected a whole number >= 1, found 0'
>>> number("rate", 0.5, above=0) is None
True
>>> from benchhub_sim.errors import WorkloadError
>>> require(WorkloadError, [whole("count", 3), number("rate", -1, above=0)])
Traceback (most recent call last):
...
benchhub_sim.errors.WorkloadError: rate: expected a finite number > 0, found -1
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any


def _named(name: str, text: str) -> str:
    return f"{name}: {text}" if name else text


def whole(name: str, value: Any, *, minimum: int = 1) -> str | None:
    """``value`` must be an integer (not a bool) >= ``minimum``: sizes, counts, workers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        return _named(name, f"expected a whole number >= {minimum}, found {value!r}")
    return None


def number(
    name: str, value: Any, *, above: float | None = None, at_least: float | None = None
) -> str | None:
    """``value`` must be a finite real number, ``> above`` or ``>= at_least`` when given:
    rates, speedups, durations, times."""
    if not isinstance(value, bool) and isinstance(value, numbers.Real):
        x = float(value)
        if (
            math.isfinite(x)
            and (above is None or x > above)
            and (at_least is None or x >= at_least)
        ):
            return None
    bound = f" > {above:g}" if above is not None else ""
    bound += f" >= {at_least:g}" if at_least is not None else ""
    return _named(name, f"expected a finite number{bound}, found {value!r}")


def require(error: Callable[[list[str]], Exception], problems: Iterable[str | None]) -> None:
    """Raise ``error(problems)`` listing every problem that is not None, if any."""
    found = [p for p in problems if p is not None]
    if found:
        raise error(found)


def arg_type(kind: type, rule: Callable[..., str | None], **bounds: Any) -> Callable[[str], Any]:
    """An argparse ``type=``: parse ``kind`` (int or float), then apply ``rule``.

    Examples
    --------
    >>> arg_type(int, whole)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a whole number >= 1, found 0
    """

    import argparse  # here: the command line needs it, a notebook does not

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'a whole number' if kind is int else 'a number'}, found {text!r}"
            ) from None
        problem = rule("", value, **bounds)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse
