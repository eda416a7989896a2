"""A report of one or several runs: a self-contained HTML file, or Markdown with PNGs.

The HTML file embeds its figures as base64 PNG data URIs and its CSS inline: it opens
offline and can be mailed as one file. The document is a flat list of blocks (heading,
paragraph, table, figure) rendered by one small function per format.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchhub_sim.analysis import plot as _plot
from benchhub_sim.analysis.metrics import _names, compare_runs, job_metrics, stage_durations
from benchhub_sim.io import check_file_path, write_bytes_atomic, write_text_atomic

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { border-bottom: 2px solid #444; }
h2 { margin-top: 2em; border-bottom: 1px solid #bbb; }
div.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; }
td.text, th.text { text-align: left; }
figure { margin: 1em 0; }
figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
p.meta { color: #555; }
"""


@dataclass(frozen=True)
class _Block:
    kind: str  # "h1" | "h2" | "h3" | "p" | "table" | "figure"
    text: str = ""
    table: pd.DataFrame | None = None
    png: bytes = b""


def _fmt(x: Any) -> str:
    if x is None or x is pd.NA or (isinstance(x, (float, np.floating)) and np.isnan(x)):
        return ""
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.1f}"
    return str(x)


def _figure(draw: Callable[[Any], Any], size: tuple[float, float] = (9.0, 3.6)) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    draw(ax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return buf.getvalue()


def _top(jm: pd.DataFrame, column: str, n: int) -> pd.DataFrame:
    cols = [
        "job_id",
        "name",
        "status",
        "n_nodes",
        "submit_time",
        "wait",
        "runtime",
        "bounded_slowdown",
    ]
    top = jm.dropna(subset=[column]).sort_values([column, "job_id"], ascending=[False, True])
    return top[[c for c in cols if c in top]].head(n)


def _failures(run: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    jobs = run.jobs
    aborted = jobs[jobs["status"].astype(object).to_numpy() == "aborted"]
    cols = [
        c
        for c in ("job_id", "name", "submit_time", "start_time", "stop_time", "reason")
        if c in aborted
    ]
    aborted = aborted[cols].sort_values("job_id")
    tasks = getattr(run, "tasks", None)
    if tasks is None or tasks.empty:
        return aborted, pd.DataFrame()
    failed = tasks[tasks["status"].astype(object).to_numpy() == "failed"]
    cols = [
        c
        for c in (
            "job_id",
            "stage_name",
            "node_id",
            "task_name",
            "attempt",
            "exit_code",
            "stop_time",
            "reason",
        )
        if c in failed
    ]
    return aborted, failed[cols].sort_values(["job_id", "stop_time"], kind="stable")


def _run_blocks(run: Any, name: str, top: int) -> list[_Block]:
    meta = getattr(run, "meta", None) or {}
    bits = [f"{k}: {meta[k]}" for k in ("clock", "policy", "seed") if meta.get(k) is not None]
    bits.append(f"nodes: {len(run.nodes)}")
    bits.append(f"jobs: {len(run.jobs)}")
    out = [_Block("h2", name), _Block("p", " · ".join(bits))]
    out.append(
        _Block(
            "figure",
            "Jobs by node",
            png=_figure(lambda ax: _plot.plot_gantt(run, ax=ax), (10.0, 4.5)),
        )
    )
    out.append(
        _Block(
            "figure",
            "Cluster utilization",
            png=_figure(lambda ax: _plot.plot_utilization(run, ax=ax)),
        )
    )
    out.append(
        _Block(
            "figure", "Queue length", png=_figure(lambda ax: _plot.plot_queue_length(run, ax=ax))
        )
    )
    out.append(
        _Block(
            "figure",
            "Node states over time",
            png=_figure(lambda ax: _plot.plot_node_states(run, ax=ax)),
        )
    )
    jm = job_metrics(run)
    out.append(_Block("h3", f"Slowest jobs (by bounded slowdown, top {top})"))
    out.append(_Block("table", table=_top(jm, "bounded_slowdown", top)))
    out.append(_Block("h3", f"Longest-waiting jobs (top {top})"))
    out.append(_Block("table", table=_top(jm, "wait", top)))
    aborted, failed = _failures(run)
    out.append(_Block("h3", f"Failures: {len(aborted)} aborted jobs, {len(failed)} failed tasks"))
    if len(aborted):
        out.append(_Block("table", table=aborted))
    if len(failed):
        out.append(_Block("table", table=failed))
    st = getattr(run, "stages", None)
    if st is not None and len(st):
        out.append(_Block("h3", "Stage durations (s, per node)"))
        out.append(_Block("table", table=stage_durations(run).reset_index()))
    return out


def _blocks(runs: Sequence[Any], names: list[str], title: str, top: int) -> list[_Block]:
    summary = compare_runs(runs, names).reset_index()
    blocks = [_Block("h1", title), _Block("h2", "Summary")]
    blocks.append(_Block("table", table=summary))
    blocks.append(
        _Block(
            "p",
            "Times in seconds; waits over the jobs that started; bounded "
            "slowdown with tau = 10 s; utilization is busy node-seconds over "
            "nodes x makespan.",
        )
    )
    blocks.append(
        _Block(
            "figure",
            "Wait time CDF",
            png=_figure(lambda ax: _plot.plot_wait_cdf(list(runs), names, ax=ax)),
        )
    )
    for run, name in zip(runs, names, strict=True):
        blocks.extend(_run_blocks(run, name, top))
    return blocks


def _html_table(df: pd.DataFrame) -> str:
    text_cols = {
        c
        for c in df.columns
        if df[c].dtype == object or str(df[c].dtype) in ("category", "str", "string")
    }
    head = "".join(
        f'<th class="{"text" if c in text_cols else "num"}">{html.escape(str(c))}</th>'
        for c in df.columns
    )
    rows = []
    for rec in df.itertuples(index=False):
        cells = "".join(
            f'<td class="{"text" if c in text_cols else "num"}">{html.escape(_fmt(v))}</td>'
            for c, v in zip(df.columns, rec, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    body = "".join(rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _render_html(blocks: list[_Block], title: str) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            parts.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f'<p class="meta">{html.escape(b.text)}</p>')
        elif b.kind == "table" and b.table is not None:
            parts.append(_html_table(b.table))
        elif b.kind == "figure":
            data = base64.b64encode(b.png).decode("ascii")
            alt = html.escape(b.text)
            parts.append(
                f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
                f"<figcaption>{alt}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md_table(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return _fmt(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in df.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in df.columns) + "|")
    for rec in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in rec) + " |")
    return "\n".join(lines)


def _render_md(blocks: list[_Block], out: Path) -> str:
    fig_dir = out.parent / f"{out.stem}_files"
    fig_dir.mkdir(parents=True, exist_ok=True)
    parts: list[str] = []
    k = 0
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            parts.append("#" * int(b.kind[1]) + " " + b.text)
        elif b.kind == "p":
            parts.append(b.text)
        elif b.kind == "table" and b.table is not None:
            parts.append(_md_table(b.table))
        elif b.kind == "figure":
            k += 1
            png = fig_dir / f"fig-{k:02d}.png"
            write_bytes_atomic(png, b.png)
            parts.append(f"![{b.text}]({fig_dir.name}/{png.name})")
    return "\n\n".join(parts) + "\n"


def write_report(
    runs: Any,
    path: str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
    format: str = "html",
    title: str = "benchhub_sim report",
    top: int = 10,
) -> Path:
    """Write a report of one or several runs.

    Contents: a summary table (:func:`~benchhub_sim.analysis.metrics.compare_runs`), the
    wait-time CDF of all runs, then per run: Gantt chart by node, utilization, queue
    length, node states over time, the slowest and the longest-waiting jobs, aborted
    jobs and failed tasks with their reasons, and stage durations.

    Parameters
    ----------
    runs : Run-like or sequence of Run-like
    path : str or path-like
        Output file.
    names : sequence of str, optional
        One label per run (default: :func:`~benchhub_sim.analysis.metrics.run_name`).
    format : {"html", "md"}
        ``html``: one self-contained file (PNG figures as data URIs, inline CSS, no
        network). ``md``: Markdown, its PNGs in a folder ``<stem>_files`` beside it.
    title : str
    top : int
        Rows of the slowest / longest-waiting job tables.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if format not in ("html", "md"):
        raise ValueError(f"format must be 'html' or 'md', got {format!r}")
    if not isinstance(runs, (list, tuple)):
        runs = [runs]
    if not runs:
        raise ValueError("write_report needs at least one run")
    labels = _names(runs, names)
    out = check_file_path(path)  # before the figures are drawn
    blocks = _blocks(runs, labels, title, top)
    text = _render_html(blocks, title) if format == "html" else _render_md(blocks, out)
    write_text_atomic(out, text)
    return out
