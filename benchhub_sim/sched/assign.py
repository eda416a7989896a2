"""Node assignment: bind each node position a job asks for to a distinct free node.

Rules (BenchHub's scheduler, plus capacity requirements):

- A job's ``nodeAssignments`` expand into *slots*: one per node, named after the
  assignment, or ``NAME-i`` when it asks for ``count > 1`` nodes.
- A slot of role R takes a node whose preferred role is R (match ``"exact"``) before a
  node of role ``any`` (match ``"any"``). A slot of role ``any`` takes an ``any`` node
  (``"exact"``) before a node of another role (``"any"``): it leaves specific nodes to
  the slots that need them, which are bound first.
- An assignment's own selectors (OR-ed) restrict candidates: ``name`` (the node id or
  host) or ``role`` (the node's role, or ``any``) -- OR-ed within a selector, as
  BenchHub's planner does for stages -- and ``labels`` (all must match).
- ``requirements`` (cores, mem_mb, disk_mb) are minimum capacities.
- One job per node; ``max_loader_pack`` > 1 lets up to that many loader slots of one
  job share a node (BenchHub allows 3) when there are not enough free nodes.
- Greedy binding in that preference order; when it fails but a binding may exist
  (constraints differ between slots), a bipartite matching decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from benchhub_sim.cluster import Node
from benchhub_sim.errors import ScheduleError
from benchhub_sim.spec.model import (
    JobSpec,
    Requirements,
    Role,
    Selector,
    Stage,
    selector_picks,
    stage_selectors,
)


@dataclass(frozen=True)
class Slot:
    """One node position of a job."""

    name: str
    assignment: str
    role: Role
    index: int
    selectors: tuple[Selector, ...] = ()
    requirements: Requirements = field(default_factory=Requirements)

    @property
    def constrained(self) -> bool:
        r = self.requirements
        return bool(self.selectors) or bool(r.cores or r.mem_mb or r.disk_mb)


@dataclass(frozen=True)
class Binding:
    """A slot bound to a node, and how well the node's role matched."""

    slot: Slot
    node: Node
    match: str  # "exact" | "any"


def job_slots(spec: JobSpec) -> tuple[Slot, ...]:
    """Expand a spec's node assignments into slots, in definition order."""
    slots: list[Slot] = []
    for a in spec.node_assignments:
        for i in range(a.count):
            name = a.name if a.count == 1 else f"{a.name}-{i}"
            slots.append(Slot(name, a.name, a.role, len(slots), a.selectors, a.requirements))
    return tuple(slots)


def node_matches(slot: Slot, node: Node) -> str | None:
    """How ``node`` can serve ``slot``: ``"exact"``, ``"any"`` or None (it cannot)."""
    r = slot.requirements
    if node.cores < r.cores or node.mem_mb < r.mem_mb or node.disk_mb < r.disk_mb:
        return None
    if slot.selectors and not any(_selector_accepts(s, node) for s in slot.selectors):
        return None
    if slot.role is Role.ANY:
        return "exact" if node.role is Role.ANY else "any"
    if node.role is slot.role:
        return "exact"
    if node.role is Role.ANY:
        return "any"
    return None


def _selector_accepts(sel: Selector, node: Node) -> bool:
    roles = tuple(Role) if node.role is Role.ANY else (node.role,)  # an any node plays any role
    if not selector_picks(sel, (node.node_id, node.host), roles):
        return False
    return sel.all or all(node.label(k) == v for k, v in sel.labels)


def _rank(slot: Slot, node: Node) -> int | None:
    m = node_matches(slot, node)
    return None if m is None else (0 if m == "exact" else 1)


class SlotRanks:
    """How well each node serves each slot of one job shape, computed once per (slot,
    node id): a memo for :func:`try_assign` calls on the same ``slots`` whose nodes
    all come from one cluster (where a node id always names the same node).

    The engine keeps one per spec: ranking every free node for every slot at every
    try took a tenth of a BenchHub mix's run.
    """

    __slots__ = ("order", "ranks")

    def __init__(self, slots: Sequence[Slot]) -> None:
        self.order = _greedy_order(slots)
        #: per slot, node id -> :func:`_rank`
        self.ranks: list[dict[str, int | None]] = [{} for _ in slots]


def _greedy_order(slots: Sequence[Slot]) -> list[int]:
    """Slots with a specific role first, then in slot order."""
    return sorted(range(len(slots)), key=lambda i: (slots[i].role is Role.ANY, i))


def try_assign(
    slots: Sequence[Slot],
    free: Sequence[Node],
    *,
    max_loader_pack: int = 1,
    ranks: SlotRanks | None = None,
) -> tuple[Binding, ...] | None:
    """Bind every slot to a node of ``free`` (in preference order), or return None.

    ``free`` is taken in the order given (the engine passes cluster order), so the
    result is deterministic. ``ranks`` (made for these ``slots``) remembers how nodes
    serve the slots from one call to the next: the result is the same.
    """
    n = len(slots)
    if len(free) < n and len(free) < min_nodes(slots, max_loader_pack):
        return None  # fast refusal: the common case when the cluster is busy
    if all(s.role is Role.ANY and not s.constrained for s in slots):
        return _assign_any(slots, free)
    return _greedy(slots, free, max_loader_pack, ranks)


def _greedy(
    slots: Sequence[Slot],
    free: Sequence[Node],
    max_loader_pack: int,
    memo: SlotRanks | None = None,
) -> tuple[Binding, ...] | None:
    """Slots with a specific role first, each to its best-ranked free node, in order."""
    n = len(slots)
    taken: dict[str, int] = {}  # node id -> slots bound to it
    bound: dict[int, Binding] = {}
    for i in memo.order if memo is not None else _greedy_order(slots):
        slot = slots[i]
        known = memo.ranks[i] if memo is not None else None
        best: tuple[int, Node] | None = None
        for node in free:
            node_id = node.node_id
            if node_id in taken:
                continue
            if known is None:
                rank = _rank(slot, node)
            else:
                rank = known.get(node_id, -1)
                if rank == -1:
                    rank = known[node_id] = _rank(slot, node)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, node)
                if rank == 0:
                    break
        if best is None and max_loader_pack > 1 and slot.role is Role.LOADER:
            best = _pack(slot, free, taken, bound, max_loader_pack)
        if best is None:
            return (
                _match(slots, free, max_loader_pack) if any(s.constrained for s in slots) else None
            )
        taken[best[1].node_id] = taken.get(best[1].node_id, 0) + 1
        bound[i] = Binding(slot, best[1], "exact" if best[0] == 0 else "any")
    return tuple(bound[i] for i in range(n))


def _assign_any(slots: Sequence[Slot], free: Sequence[Node]) -> tuple[Binding, ...] | None:
    """The greedy binding when every slot is of role ``any`` with no selector or requirement.

    Slot ``i`` (in slot order) gets the ``i``-th free node of role ``any`` (``"exact"``);
    once those run out, the next free nodes of other roles in order (``"any"``) — what
    the general greedy loop picks, without ranking every free node for every slot.
    """
    n = len(slots)
    exact: list[Node] = []
    other: list[Node] = []
    seen: set[str] = set()
    for node in free:
        if node.node_id in seen:
            return _greedy(slots, free, 1)  # a node listed twice: leave it to the general rules
        seen.add(node.node_id)
        if node.cores < 0 or node.mem_mb < 0 or node.disk_mb < 0:
            continue  # fails even zero requirements, as in node_matches
        if node.role is Role.ANY:
            exact.append(node)
            if len(exact) == n:
                break
        elif len(other) < n:
            other.append(node)
    picked = [(node, "exact") for node in exact] + [(node, "any") for node in other]
    if len(picked) < n:
        return None
    return tuple(
        Binding(slot, node, match) for slot, (node, match) in zip(slots, picked[:n], strict=False)
    )


def min_nodes(slots: Sequence[Slot], max_loader_pack: int) -> int:
    """Fewest distinct nodes that can hold ``slots`` when up to ``max_loader_pack``
    loader slots may share a node (what queue policies count for a queued job)."""
    if max_loader_pack <= 1:
        return len(slots)
    loaders = sum(1 for s in slots if s.role is Role.LOADER)
    return len(slots) - loaders + -(-loaders // max_loader_pack)


def _pack(
    slot: Slot,
    free: Sequence[Node],
    taken: dict[str, int],
    bound: dict[int, Binding],
    max_pack: int,
) -> tuple[int, Node] | None:
    """A node already holding fewer than ``max_pack`` loader slots of this job."""
    loader_nodes = {b.node.node_id for b in bound.values() if b.slot.role is Role.LOADER}
    for node in free:
        if node.node_id in loader_nodes and taken[node.node_id] < max_pack:
            rank = _rank(slot, node)
            if rank is not None:
                return rank, node
    return None


def _match(
    slots: Sequence[Slot], free: Sequence[Node], max_loader_pack: int
) -> tuple[Binding, ...] | None:
    """Exact bipartite matching when greedy failed under per-slot constraints."""
    if any(not any(node_matches(slot, node) for node in free) for slot in slots):
        return None  # a slot no free node serves: no matching (without building a graph)
    import networkx as nx

    g = nx.Graph()
    left = [("s", i) for i in range(len(slots))]
    g.add_nodes_from(left)
    for i, slot in enumerate(slots):
        for node in free:
            if node_matches(slot, node) is not None:
                g.add_edge(("s", i), ("n", node.node_id))
    matching = nx.bipartite.maximum_matching(g, top_nodes=left)
    if any(("s", i) not in matching for i in range(len(slots))):
        return None
    by_id = {n.node_id: n for n in free}
    out = []
    for i, slot in enumerate(slots):
        node = by_id[matching[("s", i)][1]]
        out.append(Binding(slot, node, node_matches(slot, node) or "any"))
    return tuple(out)


def assign_nodes(
    spec: JobSpec, nodes: Iterable[Node], *, max_loader_pack: int = 1
) -> tuple[Binding, ...]:
    """Bind a job's slots to ``nodes`` (all taken as free), or raise ScheduleError.

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec, NodeAssignment, Role
    >>> spec = JobSpec("j", node_assignments=(NodeAssignment("srv", Role.DATABASE),))
    >>> [(b.slot.name, b.node.node_id, b.match) for b in assign_nodes(spec, [Node("a"), Node("d", Role.DATABASE)])]
    [('srv', 'd', 'exact')]
    """
    nodes = list(nodes)
    slots = job_slots(spec)
    result = try_assign(slots, nodes, max_loader_pack=max_loader_pack)
    if result is None:
        raise ScheduleError(unschedulable_reason(spec, nodes, max_loader_pack=max_loader_pack))
    return result


def unschedulable_reason(spec: JobSpec, nodes: Sequence[Node], *, max_loader_pack: int = 1) -> str:
    """Why ``spec`` cannot be bound to ``nodes``, naming the first assignment that fails."""
    slots = job_slots(spec)
    for a in spec.node_assignments:
        own = [s for s in slots if s.assignment == a.name]
        fits = [n for n in nodes if node_matches(own[0], n) is not None] if own else []
        if len(fits) < a.count and not (max_loader_pack > 1 and a.role is Role.LOADER and fits):
            want = f"{a.count} node(s) of role {a.role.value}"
            if own and own[0].constrained:
                want += " matching its selectors/requirements"
            return f"assignment {a.name!r} needs {want}, {len(fits)} available of {len(nodes)}"
    return f"job {spec.name!r} needs {len(slots)} distinct nodes, the cluster cannot bind them all at once ({len(nodes)} nodes)"


def select_bindings(
    spec: JobSpec, stage: Stage, bindings: Sequence[Binding]
) -> tuple[Binding, ...]:
    """The bound slots a stage runs on: its selectors OR-ed, in binding order.

    A stage of stoppers selected by ``none`` runs on the slots of the stages it stops
    (see :func:`~benchhub_sim.spec.model.stage_selectors`).
    """
    selectors = stage_selectors(spec, stage)
    return tuple(b for b in bindings if any(_stage_selector_accepts(s, b) for s in selectors))


def _stage_selector_accepts(sel: Selector, b: Binding) -> bool:
    if not selector_picks(sel, (b.slot.assignment, b.slot.name), (b.slot.role,)):
        return False
    return sel.all or all(b.node.label(k) == v for k, v in sel.labels)
