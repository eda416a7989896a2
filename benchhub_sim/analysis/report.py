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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchhub_sim.analysis import plot as _plot
from benchhub_sim.analysis.calibrate import compare_stages, plot_stage_comparison, stage_samples
from benchhub_sim.analysis.display import field_of, format_value
from benchhub_sim.analysis.metrics import (
    BSLD_TAU,
    compare_runs,
    job_metrics,
    run_names,
    stage_durations,
)
from benchhub_sim.analysis.observed import plot_metrics, results_summary
from benchhub_sim.display import plural
from benchhub_sim.errors import stalled_message
from benchhub_sim.io import check_file_path, write_bytes_atomic, write_text_atomic
from benchhub_sim.store.run import unfinished
from benchhub_sim.store.setup import setup_rows

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { border-bottom: 2px solid #444; }
h2 { margin-top: 2em; border-bottom: 1px solid #bbb; }
div.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left;
         overflow-wrap: break-word; }
th:first-child, td:first-child { white-space: nowrap; }
th { background: #f0f0f0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums;
                 overflow-wrap: normal; white-space: nowrap; }
figure { margin: 1em 0; }
figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
p.meta { color: #555; }
p.warn { color: #900; font-weight: bold; }
"""

#: how the report's tables show known columns: name -> (header, format)
COLUMNS: dict[str, tuple[str, str]] = {
    "job_id": ("job", ".0f"),
    "n_nodes": ("nodes", ".0f"),
    "attempt": ("attempt", ".0f"),
    "exit_code": ("exit code", ".0f"),
    "count": ("count", ",.0f"),
    "submit_time": ("submit (s)", ",.2f"),
    "start_time": ("start (s)", ",.2f"),
    "stop_time": ("stop (s)", ",.2f"),
    "wait": ("wait (s)", ",.2f"),
    "runtime": ("runtime (s)", ",.2f"),
    "mean": ("mean (s)", ",.2f"),
    "p50": ("p50 (s)", ",.2f"),
    "p95": ("p95 (s)", ",.2f"),
    "bounded_slowdown": ("bounded slowdown", ",.2f"),
    "stage_name": ("stage", ""),
    "task_name": ("task", ""),
    "node_id": ("node", ""),
    "name": ("spec", ""),
}

_NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+%?$")


@dataclass(frozen=True)
class _Block:
    kind: str  # "h1" | "h2" | "h3" | "p" | "warn" | "table" | "figure"
    text: str = ""
    table: pd.DataFrame | None = None
    png: bytes = b""
    caption: str = ""


def _shown(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as display text: known columns formatted and renamed (:data:`COLUMNS`)."""
    out = {}
    for c in df.columns:
        header, fmt = COLUMNS.get(c, (str(c), ""))
        out[header] = [format_value(v, fmt) for v in df[c]]
    return pd.DataFrame(out, columns=list(out))


def _figure(draw: Callable[[Any], Any], size: tuple[float, float] = (9.0, 3.6)) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    draw(ax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return buf.getvalue()


def _top(jm: pd.DataFrame, column: str, n: int) -> pd.DataFrame:
    cols = ["job_id", "name", "status", "n_nodes", "submit_time", "wait", "runtime",
            "bounded_slowdown"]  # fmt: skip
    top = jm.dropna(subset=[column]).sort_values([column, "job_id"], ascending=[False, True])
    return top[[c for c in cols if c in top]].head(n)


def attempt_outcomes(run: Any) -> pd.DataFrame:
    """Every failed task attempt of a run, and what came of it.

    An attempt is retried when the same task of the same stage on the same slot has a
    later attempt. Its ``outcome`` is ``"succeeded on retry"`` when a later attempt
    finished, ``"retried, failed again"`` when the later attempts failed too (each is
    listed), ``"job aborted"`` when it was the task's last attempt in a job that
    aborted, and ``"last attempt"`` otherwise.

    Returns
    -------
    pandas.DataFrame
        The failed rows of ``run.tasks`` (``job_id``, ``stage_name``, ``node_id``,
        ``task_name``, ``attempt``, ``exit_code``, ``stop_time``, ``reason`` where
        present) and ``outcome``, by job and stop time.
    """
    tasks = getattr(run, "tasks", None)
    if tasks is None or tasks.empty:
        return pd.DataFrame(columns=["job_id", "outcome"])
    t = tasks.assign(status=tasks["status"].astype(object), node_id=tasks["node_id"].astype(object))
    key = [c for c in ("job_id", "stage", "node_id", "node_name", "task") if c in t]
    t = t.assign(node_name=t["node_name"].astype(object)) if "node_name" in t else t
    done = t[t["status"] == "finished"].groupby(key, dropna=False)["attempt"].max()
    last = t.groupby(key, dropna=False)["attempt"].max()
    failed = t[t["status"] == "failed"]
    aborted = set(run.jobs.loc[run.jobs["status"].astype(object) == "aborted", "job_id"])
    outcomes = []
    for row in failed.itertuples(index=False):
        k = tuple(getattr(row, c) for c in key)
        if done.get(k, -1) > row.attempt:
            outcomes.append("succeeded on retry")
        elif last.get(k, row.attempt) > row.attempt:
            outcomes.append("retried, failed again")
        elif row.job_id in aborted:
            outcomes.append("job aborted")
        else:
            outcomes.append("last attempt")
    cols = [c for c in ("job_id", "stage_name", "node_id", "task_name", "attempt", "exit_code",
                        "stop_time", "reason") if c in failed]  # fmt: skip
    out = failed[cols].assign(outcome=outcomes)
    return out.sort_values(["job_id", "stop_time"], kind="stable").reset_index(drop=True)


def _failures(run: Any) -> list[_Block]:
    jobs = run.jobs
    aborted = jobs[jobs["status"].astype(object).to_numpy() == "aborted"]
    cols = [c for c in ("job_id", "name", "submit_time", "start_time", "stop_time", "reason")
            if c in aborted]  # fmt: skip
    aborted = aborted[cols].sort_values("job_id")
    attempts = attempt_outcomes(run)
    retried = int((attempts["outcome"] == "succeeded on retry").sum()) if len(attempts) else 0
    never = int(aborted["start_time"].isna().sum()) if "start_time" in aborted else 0
    head = (
        f"Failures: {plural(len(aborted), 'aborted job')} ({never} never started), "
        f"{plural(len(attempts), 'failed task attempt')} ({retried} succeeded on retry)"
    )
    out = [_Block("h3", head)]
    if len(aborted):
        out.append(_Block("p", "Aborted jobs, with the reason logged:"))
        out.append(_Block("table", table=aborted))
    if len(attempts):
        out.append(_Block("p", "Failed task attempts, and what came of each:"))
        out.append(_Block("table", table=attempts))
    return out


def _warnings(run: Any, name: str) -> list[str]:
    """What did not finish, said where the reader cannot miss it."""
    meta = getattr(run, "meta", None) or {}
    out = []
    why = unfinished({**meta, "complete": getattr(run, "complete", True)})
    if why:
        out.append(f"{name}: not a finished run: {why}")
    stalled = meta.get("stalled")
    if stalled:
        out.append(f"{name}: stalled: {stalled_message(stalled)}")
    jobs = run.jobs
    left = int((~jobs["status"].astype(object).isin(["finished", "aborted"])).sum())
    if left and not stalled:
        out.append(f"{name}: {left} jobs were still queued or running when the run ended")
    return out


def _run_blocks(run: Any, name: str, top: int) -> list[_Block]:
    meta = getattr(run, "meta", None) or {}
    out = [_Block("h2", name)]
    out.extend(_Block("warn", w) for w in _warnings(run, name))
    setup = pd.DataFrame(setup_rows(meta, len(run.nodes)), columns=["setup", "value"])
    out.append(_Block("table", table=setup))
    out.append(
        _Block(
            "figure",
            "Jobs by node",
            png=_figure(lambda ax: _plot.plot_gantt(run, ax=ax), (10.0, 4.8)),
            caption="Each row is a node (grouped by role), each bar a job holding it, "
            "coloured by spec; a red x ends an aborted job.",
        )
    )
    out.append(
        _Block(
            "figure",
            "Cluster utilization",
            png=_figure(lambda ax: _plot.plot_utilization(run, ax=ax)),
            caption="The share of nodes held by a job, from assignment to the job's end.",
        )
    )
    out.append(
        _Block(
            "figure",
            "Node states",
            png=_figure(lambda ax: _plot.plot_node_states(run, ax=ax)),
            caption="How many nodes were in each state of the node store.",
        )
    )
    jm = job_metrics(run)
    out.append(_Block("h3", f"Slowest jobs (by bounded slowdown, top {top})"))
    out.append(_Block("table", table=_top(jm, "bounded_slowdown", top)))
    out.append(_Block("h3", f"Longest-waiting jobs (top {top})"))
    out.append(_Block("table", table=_top(jm, "wait", top)))
    out.extend(_failures(run))
    st = getattr(run, "stages", None)
    if st is not None and len(st):
        out.append(_Block("h3", "Stage durations by spec (per node)"))
        out.append(_Block("table", table=stage_durations(run).reset_index()))
    out.extend(_observed_blocks(run))
    return out


def _on_axes(plot: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``plot(*args, ax=AX, **kwargs)`` as a function of the axes (for :func:`_figure`)."""
    return lambda ax: plot(*args, ax=ax, **kwargs)


def _observed_blocks(run: Any) -> list[_Block]:
    """A real run: the results its tasks reported, and its agents' metrics by node."""
    has_table = getattr(run, "has_table", None)
    if not callable(has_table) or not has_table("metrics"):
        return []  # a simulation: nothing was observed
    out = [_Block("h3", "Benchmark results (reported by the tasks)")]
    results = results_summary(run)
    if results.empty:
        out.append(_Block("p", "No task reported a result (JSON lines in $BENCHHUB_RESULTS)."))
    else:
        out.append(_Block("table", table=results))
    metrics = run.metrics
    samples = metrics[metrics["kind"].astype(object) == "sample"]
    if samples.empty:
        out.append(_Block("p", "No metrics were sampled (tasks shorter than the interval?)."))
        return out
    out.append(_Block("h3", "Agent metrics"))
    for node in sorted(samples["node_id"].astype(object).unique()):
        out.append(
            _Block(
                "figure",
                f"CPU on {node}",
                png=_figure(_on_axes(plot_metrics, run, "cpu_percent", node=node)),
                caption="The node's busy share of all its cores (black) and each task's "
                "process tree, in % of one core, sampled while tasks ran.",
            )
        )
    if (samples["metric"].astype(object) == "mem_used_bytes").any():
        out.append(
            _Block(
                "figure",
                "Memory used, by node",
                png=_figure(lambda ax: plot_metrics(run, "mem_used_bytes", ax=ax)),
                caption="Memory in use on each node (total minus available), sampled "
                "while tasks ran.",
            )
        )
    return out


def _stage_comparison_blocks(runs: Sequence[Any], names: list[str], most: int = 12) -> list[_Block]:
    """A real run against the others (e.g. a simulation of its fitted spec), stage by stage."""
    real = [
        i for i, r in enumerate(runs) if (getattr(r, "meta", None) or {}).get("clock") == "wall"
    ]
    if len(runs) < 2 or not real:
        return []
    i = real[0]
    out = [_Block("h2", f"Stage durations: {names[i]} against the other runs")]
    for j, other in enumerate(runs):
        if j != i:
            table = compare_stages(runs[i], other, names=(names[i], names[j]))
            out.append(_Block("table", table=table.reset_index()))
    out.append(
        _Block(
            "p",
            "Durations in seconds per stage on each node (a background stage: until ready); "
            "ks is the two-sample Kolmogorov-Smirnov distance, the largest gap between the "
            "two empirical distributions (0: alike, 1: disjoint).",
        )
    )
    for stage in sorted(stage_samples(runs[i]))[:most]:
        out.append(
            _Block(
                "figure",
                f"Stage {stage}: durations",
                png=_figure(_on_axes(plot_stage_comparison, list(runs), stage, names)),
                caption="The share of the stage's runs on a node that took at most x "
                "seconds, in each run (a background stage: until it was ready).",
            )
        )
    return out


def summary_table(runs: Sequence[Any], names: Sequence[str]) -> pd.DataFrame:
    """The report's summary: one column per run, one row per number (label with its
    unit), each formatted as :data:`~benchhub_sim.analysis.display.SUMMARY_FIELDS` says."""
    table = compare_runs(runs, names)
    rows = {}
    for column in table.columns:
        f = field_of(column)
        label, fmt = (f.label, f.fmt) if f is not None else (str(column), "")
        rows[label] = [format_value(v, fmt) for v in table[column]]
    out = pd.DataFrame(rows, index=list(table.index)).T
    labels = list(out.index)
    out = out.reset_index(drop=True)
    out.insert(0, "run", labels, allow_duplicates=True)  # a run may be named "run"
    return out


def _blocks(runs: Sequence[Any], names: list[str], title: str, top: int) -> list[_Block]:
    blocks = [_Block("h1", title)]
    for run, name in zip(runs, names, strict=True):
        blocks.extend(_Block("warn", w) for w in _warnings(run, name))
    blocks.append(_Block("h2", "Summary"))
    blocks.append(_Block("table", table=summary_table(runs, names)))
    blocks.append(
        _Block(
            "p",
            "Times in seconds; waits over the jobs that started; bounded slowdown with "
            f"tau = {BSLD_TAU:g} s; utilization is busy node-seconds over nodes x makespan.",
        )
    )
    blocks.append(
        _Block(
            "figure",
            "Wait time CDF",
            png=_figure(lambda ax: _plot.plot_wait_cdf(list(runs), names, ax=ax)),
            caption="The share of started jobs that waited at most x seconds.",
        )
    )
    blocks.append(
        _Block(
            "figure",
            "Wait by spec",
            png=_figure(lambda ax: _plot.plot_wait_by_spec(list(runs), names, ax=ax)),
            caption="Quartiles and median of each spec's waits, one box per run; "
            "dots are waits beyond 1.5 times the box.",
        )
    )
    blocks.append(
        _Block(
            "figure",
            "Queue length",
            png=_figure(lambda ax: _plot.plot_queue_length(list(runs), names, ax=ax)),
            caption="Jobs submitted and not yet started, over time.",
        )
    )
    blocks.extend(_stage_comparison_blocks(runs, names))
    for run, name in zip(runs, names, strict=True):
        blocks.extend(_run_blocks(run, name, top))
    return blocks


def _html_table(df: pd.DataFrame) -> str:
    shown = _shown(df)

    def cls(text: str) -> str:
        return "num" if _NUMBER.match(text) else "text"

    columns = list(shown.columns)
    numeric = {c: bool(len(shown)) and all(cls(v) == "num" for v in shown[c] if v) for c in columns}
    head = "".join(
        f'<th class="{"num" if numeric[c] else "text"}">{html.escape(str(c))}</th>' for c in columns
    )
    rows = []
    for rec in shown.itertuples(index=False):
        cells = "".join(f'<td class="{cls(v)}">{html.escape(v)}</td>' for v in rec)
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
        elif b.kind == "warn":
            parts.append(f'<p class="warn">{html.escape(b.text)}</p>')
        elif b.kind == "table" and b.table is not None:
            parts.append(_html_table(b.table))
        elif b.kind == "figure":
            data = base64.b64encode(b.png).decode("ascii")
            caption = f"<figcaption>{html.escape(b.caption)}</figcaption>" if b.caption else ""
            parts.append(
                f'<figure><img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">'
                f"{caption}</figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md_table(df: pd.DataFrame) -> str:
    shown = _shown(df)

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in shown.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in shown.columns) + "|")
    for rec in shown.itertuples(index=False):
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
        elif b.kind == "warn":
            parts.append(f"**{b.text}**")
        elif b.kind == "table" and b.table is not None:
            parts.append(_md_table(b.table))
        elif b.kind == "figure":
            k += 1
            png = fig_dir / f"fig-{k:02d}.png"
            write_bytes_atomic(png, b.png)
            parts.append(f"![{b.text}]({fig_dir.name}/{png.name})")
            if b.caption:
                parts.append(f"*{b.caption}*")
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

    Contents: a warning for every run that stalled, raised or did not finish; a summary
    table (:func:`summary_table`: one column per run); the wait-time CDF, the waits by
    spec and the queue length of all runs; then per run: its setup (policy, cluster,
    seed, inputs, versions, engine paths, skipped and stalled jobs), Gantt chart by
    node, utilization, node states over time, the slowest and the longest-waiting jobs,
    aborted jobs and failed task attempts (those that succeeded on retry told apart),
    and stage durations by spec.

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
    labels = run_names(runs, names)
    out = check_file_path(path)  # before the figures are drawn
    blocks = _blocks(runs, labels, title, top)
    text = _render_html(blocks, title) if format == "html" else _render_md(blocks, out)
    write_text_atomic(out, text)
    return out
