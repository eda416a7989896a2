"""The stage graph of a job: pipelines as barriers between stages, as a networkx DAG.

Every stage of pipeline ``k + 1`` waits for every stage of pipeline ``k``: for a
foreground stage until it *finished*, for a background stage until it is *ready* (its
readiness checks passed; it goes on running). Each stage carries an estimated duration,
its critical path on one node, so :func:`critical_path` gives the job's expected length
(the same number as :func:`~benchhub_sim.spec.walltime.estimate_walltime`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

from benchhub_sim.spec.model import JobSpec, Stage, effective_task_pipelines
from benchhub_sim.spec.walltime import stage_time, task_time

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: seconds a task takes when its spec gives no ``duration``
DEFAULT_TASK_DURATION = 1.0


def stage_graph(
    spec: JobSpec, *, tasks: bool = False, default_task_duration: float = DEFAULT_TASK_DURATION
) -> nx.DiGraph:
    """Build the stage graph of ``spec``.

    Parameters
    ----------
    spec : JobSpec
        A valid spec. Without explicit pipelines, each stage is its own pipeline, in order.
    tasks : bool
        Also add a node per task, keyed ``(stage, task)``, with ``kind="contains"`` edges
        from its stage to the tasks of its first task pipeline and ``kind="sequence"``
        edges from every task of a task pipeline to every task of the next.
    default_task_duration : float
        Seconds assumed for a task without ``duration``.

    Returns
    -------
    networkx.DiGraph
        Stage nodes (keyed by name) have ``kind="stage"``, ``pipeline`` (index),
        ``pipeline_name``, ``background``, ``selectors``, ``stops`` (the stages its
        stopper tasks stop), ``central`` (a stage of stoppers selected by ``none``, run
        from the central on the nodes of the stages it stops) and ``duration``: seconds
        until the stage finished (foreground) or is ready (background) on one node, from
        task duration means (see :func:`~benchhub_sim.spec.walltime.stage_time`).
        Barrier edges join every stage of a pipeline to every stage
        of the next, with ``kind="ready"`` from a background stage, else ``"finished"``.
        ``graph.graph`` holds ``job`` and ``pipelines`` (names in order).

    Examples
    --------
    >>> spec = JobSpec("j", stages=(Stage("a"), Stage("b")))
    >>> g = stage_graph(spec)
    >>> list(g.edges(data="kind"))
    [('a', 'b', 'finished')]
    """
    graph = nx.DiGraph(job=spec.name)
    pipelines = spec.effective_pipelines()
    graph.graph["pipelines"] = [p.name for p in pipelines]
    stages = {s.name: s for s in spec.stages}
    for index, pipeline in enumerate(pipelines):
        for name in pipeline.stages:
            stage = stages[name]
            graph.add_node(
                name,
                kind="stage",
                pipeline=index,
                pipeline_name=pipeline.name,
                background=stage.background,
                selectors=stage.selectors,
                stops=stage.stops,
                central=stage.from_central,
                duration=stage_time(stage, default_task_duration),
            )
            if tasks:
                _add_tasks(graph, stage, default_task_duration)
    for before, after in zip(pipelines, pipelines[1:], strict=False):
        for src in before.stages:
            kind = "ready" if stages[src].background else "finished"
            for dst in after.stages:
                graph.add_edge(src, dst, kind=kind)
    return graph


def _add_tasks(graph: nx.DiGraph, stage: Stage, default: float) -> None:
    by_name = {t.name: t for t in stage.tasks}
    previous: tuple[Any, ...] = (stage.name,)
    kind = "contains"
    for index, pipeline in enumerate(effective_task_pipelines(stage)):
        current = tuple((stage.name, n) for n in pipeline.tasks if n in by_name)
        for key in current:
            task = by_name[key[1]]
            graph.add_node(
                key,
                kind="task",
                stage=stage.name,
                task_pipeline=index,
                task_pipeline_name=pipeline.name,
                driver=task.driver.value,
                background=task.background,
                duration=task_time(task, default),
            )
            for src in previous:
                graph.add_edge(src, key, kind=kind)
        if current:
            previous, kind = current, "sequence"


def barrier_edges(graph: nx.DiGraph) -> list[tuple[str, str]]:
    """The edges between stages (``kind`` ``"ready"`` or ``"finished"``), in graph order."""
    return [(u, v) for u, v, k in graph.edges(data="kind") if k in ("ready", "finished")]


def critical_path(graph: nx.DiGraph, weight: str = "duration") -> tuple[list[str], float]:
    """The longest chain of stages, weighting each stage by its node attribute ``weight``.

    Task nodes (``kind="task"``) are details inside their stages and are left out.

    Returns
    -------
    (list of str, float)
        Stage names along the path, and the sum of their weights in seconds.

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> g.add_node("a", duration=1.0); g.add_node("b", duration=5.0); g.add_node("c", duration=2.0)
    >>> g.add_edges_from([("a", "c"), ("b", "c")])
    >>> critical_path(g)
    (['b', 'c'], 7.0)
    """
    stages = [n for n, kind in graph.nodes(data="kind") if kind in (None, "stage")]
    if not stages:
        return [], 0.0
    # networkx weighs edges: a start node in front lets each edge carry its target's weight
    start = object()
    weighted = nx.DiGraph()
    weighted.add_nodes_from([start, *stages])
    weights = {n: float(graph.nodes[n].get(weight, 0.0)) for n in stages}
    weighted.add_weighted_edges_from(((start, n, weights[n]) for n in stages), weight="w")
    weighted.add_weighted_edges_from(
        ((u, v, weights[v]) for u, v in graph.subgraph(stages).edges), weight="w"
    )
    path = nx.dag_longest_path(weighted, weight="w")[1:]
    return path, float(sum(weights[n] for n in path))


def plot_stage_graph(
    spec_or_graph: JobSpec | nx.DiGraph, *, ax: Axes | None = None, **kwargs: Any
) -> Axes:
    """Draw the stage graph in layers: one column per pipeline, left to right.

    Foreground stages are circles, background stages squares, stages of stoppers run
    from the central (selected by ``none``) diamonds; a barrier edge from a background
    stage (``ready``) is dashed, and a dotted line joins a stage of stoppers to each stage
    it stops. When the graph has task nodes, each stage's task pipelines are listed under
    its name, one line each (tasks ``|``-separated).

    Parameters
    ----------
    spec_or_graph : JobSpec or networkx.DiGraph
        A spec, or a graph made by :func:`stage_graph`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's axes when omitted.
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.scatter` for the stage markers
        (e.g. ``s``, ``color``).

    Returns
    -------
    matplotlib.axes.Axes
        Markers are collections labelled ``"stage"``, ``"background stage"`` and, when
        there are any, ``"stopper stage (central)"``; stage names are texts, edges are
        annotations with a ``gid`` of ``"finished"``/``"ready"``, stopper links ``"stops"``.
    """
    graph = spec_or_graph if isinstance(spec_or_graph, nx.DiGraph) else stage_graph(spec_or_graph)
    if ax is None:
        import matplotlib.pyplot as plt

        width = 2.5 + 2 * len(graph.graph.get("pipelines", []))
        _, ax = plt.subplots(figsize=(width, 4), layout="constrained")
    pos = stage_positions(graph)
    links = [(src, dst, kind) for src, dst, kind in graph.edges(data="kind")]
    links += [(src, dst, "stops") for src in pos for dst in graph.nodes[src].get("stops", ())]
    for src, dst, kind in links:
        if src not in pos or dst not in pos or src == dst:
            continue
        ax.annotate(
            "",
            xy=pos[dst],
            xytext=pos[src],
            arrowprops=_LINKS.get(kind, _LINKS["finished"]),
            gid=kind,
        )
    style = {"s": 300, "zorder": 2, **kwargs}
    for kind, marker, label, color in (
        ("stage", "o", "stage", "tab:blue"),
        ("background", "s", "background stage", "tab:orange"),
        ("central", "D", "stopper stage (central)", "tab:gray"),
    ):
        names = [n for n in pos if _marker_kind(graph.nodes[n]) == kind]
        if kind == "central" and not names:
            continue
        xy = [pos[n] for n in names]
        ax.scatter(
            [p[0] for p in xy],
            [p[1] for p in xy],
            marker=marker,
            label=label,
            **{"color": color, **style},
        )
    for name, (x, y) in pos.items():
        ax.text(x, y - 0.3, str(name), ha="center", va="top", fontsize=8)
        lines = _task_lines(graph, name)
        if lines:
            ax.text(x, y - 0.45, "\n".join(lines), ha="center", va="top", fontsize=6, color="0.3")
    names = graph.graph.get("pipelines") or sorted({graph.nodes[n]["pipeline"] for n in pos})
    ax.set_xticks(range(len(names)), [str(n) for n in names], rotation=20)
    ax.set_yticks([])
    ax.set_xlim(-0.6, max(len(names) - 0.4, 0.6))
    ys = [y for _, y in pos.values()] or [0.0]
    most_lines = max((len(_task_lines(graph, n)) for n in pos), default=0)
    ax.set_ylim(min(ys) - 0.8 - 0.1 * most_lines, max(ys) + 0.5)
    ax.set_xlabel("pipeline")
    ax.set_title(str(graph.graph.get("job", "")))
    ax.legend(loc="upper right", fontsize=8, markerscale=0.5)
    return ax


_ARROW = {"arrowstyle": "->", "color": "0.4", "shrinkA": 12, "shrinkB": 12}
#: how plot_stage_graph draws a link: barrier edges, and a stopper stage to what it stops
_LINKS: dict[str, dict[str, Any]] = {
    "finished": {**_ARROW, "linestyle": "-"},
    "ready": {**_ARROW, "linestyle": "--"},
    "stops": {**_ARROW, "arrowstyle": "-", "linestyle": ":", "color": "0.6",
              "connectionstyle": "arc3,rad=0.3"},
}  # fmt: skip


def _marker_kind(data: dict[str, Any]) -> str:
    if data.get("central", False):
        return "central"
    return "background" if data.get("background", False) else "stage"


def _task_lines(graph: nx.DiGraph, stage: str) -> list[str]:
    """One line per task pipeline of ``stage`` in a graph built with ``tasks=True``."""
    pipelines: dict[int, list[str]] = {}
    for key, data in graph.nodes(data=True):
        if data.get("kind") == "task" and data["stage"] == stage:
            pipelines.setdefault(data["task_pipeline"], []).append(str(key[1]))
    return [" | ".join(names) for _, names in sorted(pipelines.items())]


def stage_positions(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Layered layout: ``x`` = pipeline index, stages of a pipeline spread on ``y`` around 0."""
    layers: dict[int, list[str]] = {}
    for name, data in graph.nodes(data=True):
        if data.get("kind", "stage") == "stage":
            layers.setdefault(int(data["pipeline"]), []).append(name)
    pos: dict[str, tuple[float, float]] = {}
    for x, names in layers.items():
        for i, name in enumerate(names):
            pos[name] = (float(x), (len(names) - 1) / 2 - i)
    return pos
