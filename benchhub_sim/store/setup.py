"""How a run was set up, as people read it: from ``run.json`` (``Run.meta``).

Shared by the run's notebook display and the report's setup section. Every key is
optional: runs written by older versions lack ``paths``, ``skipped`` and ``stalled``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchhub_sim.errors import stalled_message

#: longest value shown for the inputs
_INPUTS_WIDTH = 400


def _plain(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def inputs_text(inputs: Any) -> str:
    """``"specs: a.yml, b.yml; arrivals: poisson:0.05; count: 600"``, cut to a few lines."""
    if not inputs:
        return ""
    if isinstance(inputs, Mapping):
        text = "; ".join(f"{k}: {_plain(v)}" for k, v in inputs.items())
    else:
        text = _plain(inputs)
    return text if len(text) <= _INPUTS_WIDTH else text[: _INPUTS_WIDTH - 1] + "…"


def counts_of(mapping: Any) -> str:
    """``"batch 590, general 10"`` from a mapping of counts; ``"—"`` when every count is 0."""
    if not isinstance(mapping, Mapping):
        return str(mapping)
    shown = [f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in mapping.items() if v]
    return ", ".join(shown) or "—"


def setup_rows(meta: Mapping[str, Any], n_nodes: int | None = None) -> list[tuple[str, str]]:
    """The setup of a run as (label, text) rows, from its ``run.json``.

    Policy, cluster (and nodes), clock and seed, inputs, versions; then, when ``meta``
    has them, the engine paths taken, the input jobs skipped, the jobs that stalled and
    the error the run raised. Keys it lacks are left out (``"—"`` for a missing policy,
    cluster or seed).

    Examples
    --------
    >>> setup_rows({"policy": "easy", "cluster": "c64", "seed": 1}, 64)[:2]
    [('policy', 'easy'), ('cluster', 'c64 (64 nodes)')]
    """
    nodes = n_nodes if n_nodes is not None else meta.get("n_nodes")
    cluster = str(meta.get("cluster") or "—")
    if nodes is not None:
        cluster += f" ({nodes:,} nodes)"
    seed = meta.get("seed")
    rows = [
        ("policy", str(meta.get("policy") or "—")),
        ("cluster", cluster),
        ("clock", f"{meta.get('clock') or 'virtual'}; seed {'—' if seed is None else seed}"),
    ]
    inputs = inputs_text(meta.get("inputs"))
    if inputs:
        rows.append(("inputs", inputs))
    version = meta.get("package_version") or meta.get("version")
    versions = [f"benchhub_sim {version}" if version else "", ""]
    if meta.get("schema_version") is not None:
        versions[1] = f"schema {meta['schema_version']}"
    if any(versions):
        rows.append(("versions", ", ".join(v for v in versions if v)))
    if meta.get("paths"):
        rows.append(("engine paths (jobs)", counts_of(meta["paths"])))
    if "skipped" in meta:
        rows.append(("input jobs skipped", counts_of(meta["skipped"] or {})))
    if "stalled" in meta:
        stalled = meta["stalled"]
        rows.append(("stalled", stalled_message(stalled) if stalled else "—"))
    if meta.get("error"):
        rows.append(("error", str(meta["error"])))
    return rows
