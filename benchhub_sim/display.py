"""Small HTML tables for the notebook displays (``_repr_html_``) of specs, clusters, plans
and runs: plain strings, everything escaped, no CSS beyond alignment."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any


def html_table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str = "",
    numeric: Sequence[bool] | None = None,
) -> str:
    """An HTML table of ``rows`` (each cell shown with ``str``, escaped).

    Parameters
    ----------
    header : sequence of str
        Column titles; empty for a table without a header row.
    rows : iterable of sequences
    caption : str
        Shown above the table.
    numeric : sequence of bool, optional
        Right-align these columns (default: left-align every column).

    Examples
    --------
    >>> html_table(["a"], [["<b>"]])
    '<table><thead><tr><th style="text-align:left">a</th></tr></thead><tbody><tr><td style="text-align:left">&lt;b&gt;</td></tr></tbody></table>'
    """

    def align(i: int) -> str:
        right = numeric is not None and i < len(numeric) and numeric[i]
        return f' style="text-align:{"right" if right else "left"}"'

    head = ""
    if header:
        cells = "".join(f"<th{align(i)}>{html.escape(str(h))}</th>" for i, h in enumerate(header))
        head = f"<thead><tr>{cells}</tr></thead>"
    body = "".join(
        "<tr>"
        + "".join(f"<td{align(i)}>{html.escape(str(v))}</td>" for i, v in enumerate(row))
        + "</tr>"
        for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}{head}<tbody>{body}</tbody></table>"


def value_range(values: Iterable[float], fmt: str = ",.4g") -> str:
    """``"8"`` when all values are equal, ``"8 – 16"`` otherwise, ``""`` when none."""
    vs = list(values)
    if not vs:
        return ""
    lo, hi = min(vs), max(vs)
    return format(lo, fmt) if lo == hi else f"{format(lo, fmt)} – {format(hi, fmt)}"


def plural(n: int, word: str) -> str:
    """``"1 job"``, ``"2 jobs"``, ``"1,200 nodes"``: a count and its noun (plural with -s).

    Examples
    --------
    >>> plural(1, "job"), plural(1200, "node")
    ('1 job', '1,200 nodes')
    """
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def counts_text(counts: dict[str, int]) -> str:
    """``"database 8, loader 40"``: counts as one line, in their order."""
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())
