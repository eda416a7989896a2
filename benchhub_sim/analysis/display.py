"""How the headline numbers of runs read: one format per unit, shared by every display.

:func:`~benchhub_sim.analysis.metrics.summary` returns a :class:`Summary` and
:func:`~benchhub_sim.analysis.metrics.compare_runs` a :class:`SummaryTable`: plain pandas
objects that keep the exact values and only *show* them rounded (thousands separators,
fixed decimals per unit). The report and the command line format with the same
:data:`SUMMARY_FIELDS` (of :mod:`~benchhub_sim.analysis.fields`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchhub_sim.analysis.fields import (
    NOISE,
    SETUP_FIELDS,
    SUMMARY_FIELDS,
    Field,
    field_of,
    format_value,
    formatter,
    formatters,
)
from benchhub_sim.display import html_table

__all__ = [
    "NOISE",
    "SETUP_FIELDS",
    "SUMMARY_FIELDS",
    "Field",
    "Summary",
    "SummaryTable",
    "field_of",
    "format_value",
    "formatter",
    "formatters",
]


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
