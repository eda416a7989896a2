"""How the headline numbers of runs read: one label and format per number, and the
function that formats a value (no pandas: the command line's summary line uses them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Field:
    """One headline number: how it is labelled and shown.

    Parameters
    ----------
    label : str
        For people: the name with its unit, e.g. ``"makespan (s)"``.
    fmt : str
        A format spec for the value, e.g. ``",.2f"``.
    """

    label: str
    fmt: str


#: the columns of a summary, in order: name (unit in the name) -> label and format
SUMMARY_FIELDS: dict[str, Field] = {
    "jobs": Field("jobs", ",.0f"),
    "finished": Field("finished", ",.0f"),
    "aborted": Field("aborted", ",.0f"),
    "unfinished": Field("unfinished (queued or running at the end)", ",.0f"),
    "makespan_s": Field("makespan (s)", ",.2f"),
    "throughput_per_h": Field("throughput (finished jobs/h)", ",.1f"),
    "mean_wait_s": Field("mean wait (s)", ",.2f"),
    "median_wait_s": Field("median wait (s)", ",.2f"),
    "p95_wait_s": Field("p95 wait (s)", ",.2f"),
    "mean_bounded_slowdown": Field("mean bounded slowdown", ",.2f"),
    "utilization": Field("utilization", ".1%"),
}

#: the setup columns :func:`~benchhub_sim.analysis.metrics.compare_runs` puts first
SETUP_FIELDS: dict[str, Field] = {
    "policy": Field("policy", ""),
    "cluster": Field("cluster", ""),
    "nodes": Field("nodes", ",.0f"),
}

#: float noise below this is shown as 0 (e.g. ``-5.684e-14`` from ``b - a``)
NOISE = 1e-9


def format_value(value: Any, fmt: str = "") -> str:
    """``value`` as text: ``""`` for missing, ``fmt`` for numbers, ``str`` otherwise.

    Without ``fmt`` a whole number shows without decimals, any other number with 4
    significant digits (thousands separators from 10,000); float noise (below
    :data:`NOISE`) shows as 0.

    Examples
    --------
    >>> format_value(61379.67374583779, ",.2f"), format_value(0.7558, ".1%")
    ('61,379.67', '75.6%')
    >>> format_value(-5.684e-14), format_value(-0.001, ",.2f"), format_value(float("nan"))
    ('0', '0.00', '')
    """
    if value is None or type(value).__name__ in ("NAType", "NaTType"):  # pandas' NA, NaT
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if math.isnan(v):
            return ""
        if abs(v) < NOISE:
            v = 0.0
        if fmt:
            text = format(v, fmt)
        elif v.is_integer() and abs(v) < 1e15:
            text = f"{int(v):,}"
        else:
            text = f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
        # a value that rounds to zero reads 0, not -0
        return text[1:] if text.startswith("-") and not text.strip("-0.,%") else text
    return str(value)


def field_of(name: Any) -> Field | None:
    """The :class:`Field` of a summary or setup column name, None for others."""
    return SUMMARY_FIELDS.get(name) or SETUP_FIELDS.get(name)


def formatters(columns: Iterable[Any]) -> dict[Any, Callable[[Any], str]]:
    """One formatter per column, for ``DataFrame.to_string(formatters=...)`` / ``to_html``."""
    out: dict[Any, Callable[[Any], str]] = {}
    for c in columns:
        f = field_of(c)
        out[c] = formatter(f.fmt if f is not None else "")
    return out


def formatter(fmt: str) -> Callable[[Any], str]:
    """:func:`format_value` with ``fmt``, as a function of the value."""

    def show(value: Any) -> str:
        return format_value(value, fmt)

    return show
