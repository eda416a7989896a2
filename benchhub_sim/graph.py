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

from benchhub_sim.spec.display import selectors_text
from benchhub_sim.spec.model import JobSpec, Stage, effective_task_pipelines
from benchhub_sim.spec.walltime import stage_time, task_time

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: seconds a task takes when its spec gives no ``duration``
DEFAULT_TASK_DURATION = 1.0
#: edge colour of a stage that stops other stages
STOPPER_COLOR = "#d62728"
#: how each kind of stage is drawn: kind -> (label, marker, colour)
_MARKERS = {
    "stage": ("stage", "o", "tab:blue"),
    "background": ("background stage", "s", "tab:orange"),
    "central": ("stopper stage (central)", "D", "tab:gray"),
}


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
        ``graph.graph`` holds ``job``, ``pipelines`` (names in order) and ``roles`` (the
        role of each node assignment, by name).

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
    graph.graph["roles"] = {a.name: a.role.value for a in spec.node_assignments}
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
    from the central (selected by ``none``) diamonds. A stage with stopper tasks has a
    red ring, says what it stops, and a dotted line joins it to each stage it stops.
    Under each stage's name, the nodes it runs on (its selectors, with the roles of the
    assignments they name). A barrier edge from a background stage (``ready``) is
    dashed; the legend, outside the axes, says what each mark means. When the graph has
    task nodes, each stage's task pipelines are listed too, one line each (tasks
    ``|``-separated).

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
        there are any, ``"stopper stage (central)"``; texts with gid ``"stage"`` (names),
        ``"runs_on"``, ``"stops_text"`` and ``"tasks"``; edges are annotations with a
        ``gid`` of ``"finished"``/``"ready"``, stopper links ``"stops"``.
    """
    from matplotlib.lines import Line2D
    from matplotlib.transforms import ScaledTranslation

    graph = spec_or_graph if isinstance(spec_or_graph, nx.DiGraph) else stage_graph(spec_or_graph)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=stage_graph_size(graph), layout="constrained")
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
    handles: list[Any] = []
    for kind, (label, marker, color) in _MARKERS.items():
        names = [n for n in pos if _marker_kind(graph.nodes[n]) == kind]
        if kind == "central" and not names:
            continue
        stops = [bool(graph.nodes[n].get("stops")) for n in names]
        markers = ax.scatter(
            [pos[n][0] for n in names],
            [pos[n][1] for n in names],
            marker=marker,
            label=label,
            edgecolors=[STOPPER_COLOR if s else "none" for s in stops],
            linewidths=[2.5 if s else 0.0 for s in stops],
            **{"color": color, **style},
        )
        if names:
            handles.append(markers)
    roles = graph.graph.get("roles") or {}
    fig = ax.figure
    for name, (x, y) in pos.items():
        data = graph.nodes[name]
        lines = [(str(name), 8, "black", "stage")]
        if data.get("central"):
            lines.append(("from the central", 7, "0.35", "runs_on"))
        elif data.get("selectors") is not None:
            lines.append(("on " + selectors_text(data["selectors"], roles), 7, "0.35", "runs_on"))
        if data.get("stops"):
            lines.append(("stops " + ", ".join(data["stops"]), 7, STOPPER_COLOR, "stops_text"))
        tasks = _task_lines(graph, name)
        if tasks:
            lines.append(("\n".join(tasks), 6, "0.3", "tasks"))
        down = 14.0  # points below the marker's centre
        for text, size, color, gid in lines:
            shift = ScaledTranslation(0, -down / 72, fig.dpi_scale_trans)
            ax.text(x, y, text, ha="center", va="top", fontsize=size, color=color, gid=gid,
                    transform=ax.transData + shift)  # fmt: skip
            down += (text.count("\n") + 1) * size * 1.25
    names = graph.graph.get("pipelines") or sorted({graph.nodes[n]["pipeline"] for n in pos})
    ax.set_xticks(range(len(names)), [str(n) for n in names], rotation=20)
    ax.set_yticks([])
    ax.set_xlim(-0.6, max(len(names) - 0.4, 0.6))
    ys = [y for _, y in pos.values()] or [0.0]
    most_lines = max((len(_task_lines(graph, n)) for n in pos), default=0)
    ax.set_ylim(min(ys) - 0.75 - 0.1 * most_lines, max(ys) + 0.5)
    ax.set_xlabel("pipeline")
    ax.set_title(str(graph.graph.get("job", "")))
    kinds = {kind for _, _, kind in graph.edges(data="kind")}
    if "finished" in kinds:
        handles.append(Line2D([], [], color="0.4", label="waits until finished"))
    if "ready" in kinds:
        handles.append(
            Line2D([], [], color="0.4", linestyle="--", label="waits until ready (background)")
        )
    if any(graph.nodes[n].get("stops") for n in pos):
        handles.append(
            Line2D([], [], marker="o", linestyle=":", color=_LINKS["stops"]["color"],
                   markerfacecolor="none", markersize=9, markeredgecolor=STOPPER_COLOR,
                   markeredgewidth=2, label="stops a stage (dotted: which)")
        )  # fmt: skip
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        fontsize=8,
        markerscale=0.5,
        frameon=False,
    )
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


def stage_graph_size(graph: nx.DiGraph) -> tuple[float, float]:
    """Inches for :func:`plot_stage_graph`: two per pipeline, plus room for the legend."""
    return 4.0 + 2.0 * len(graph.graph.get("pipelines", [])), 4.0


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
