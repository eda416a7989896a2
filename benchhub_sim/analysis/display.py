"""How the headline numbers of runs read: one format per unit, shared by every display.

:func:`~benchhub_sim.analysis.metrics.summary` returns a :class:`Summary` and
:func:`~benchhub_sim.analysis.metrics.compare_runs` a :class:`SummaryTable`: plain pandas
objects that keep the exact values and only *show* them rounded (thousands separators,
fixed decimals per unit). The report and the command line format with the same
:data:`SUMMARY_FIELDS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchhub_sim.display import html_table


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
    if value is None or value is pd.NA or value is pd.NaT:
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


class Summary(pd.Series):  # type: ignore[misc]  # pandas is untyped here
    """The headline numbers of one run: a pandas Series shown rounded.

    The values are exact (``s["makespan_s"]`` is the float computed); ``repr`` and the
    notebook display round them per unit (:data:`SUMMARY_FIELDS`). Anything derived from
    it (``s + 1``, ``s[["jobs"]]``, ``s.copy()``) is a plain Series.
    """

    @property
    def _constructor(self) -> Any:
        return pd.Series

    @property
    def _constructor_expanddim(self) -> Any:
        return pd.DataFrame

    def _rows(self) -> list[tuple[str, str]]:
        out = []
        for name, value in self.items():
            f = field_of(name)
            out.append((str(name), format_value(value, f.fmt if f else "")))
        return out

    def __repr__(self) -> str:
        rows = self._rows()
        width = max((len(k) for k, _ in rows), default=0)
        vwidth = max((len(v) for _, v in rows), default=0)
        lines = [f"{k:<{width}}  {v:>{vwidth}}" for k, v in rows]
        if self.name is not None:
            lines.insert(0, f"summary of {self.name}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        caption = f"summary of {self.name}" if self.name is not None else ""
        return html_table([], self._rows(), caption=caption, numeric=[False, True])


class SummaryTable(pd.DataFrame):  # type: ignore[misc]  # pandas is untyped here
    """One row of headline numbers per run: a pandas DataFrame shown rounded.

    Like :class:`Summary`, the values are exact and only the display rounds them; a
    selection or any other derived frame is a plain DataFrame (``df.to_string(
    formatters=formatters(df.columns))`` shows one the same way).
    """

    @property
    def _constructor(self) -> Any:
        return pd.DataFrame

    def __repr__(self) -> str:
        return str(pd.DataFrame(self).to_string(formatters=formatters(self.columns)))

    def _repr_html_(self) -> str:
        return str(pd.DataFrame(self).to_html(formatters=formatters(self.columns), border=0))
