"""Node assignment rules, each on a cluster small enough to know the answer by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.cluster import Node
from benchhub_sim.errors import ScheduleError
from benchhub_sim.sched.assign import (
    Slot,
    SlotRanks,
    _assign_any,
    _greedy,
    assign_nodes,
    job_slots,
    select_bindings,
    try_assign,
)
from benchhub_sim.spec.model import JobSpec, NodeAssignment, Requirements, Role, Selector, Stage

DB, LD, ANY = Role.DATABASE, Role.LOADER, Role.ANY
ROLES = [ANY, LD, DB]


def spec(*assignments: NodeAssignment, stages: tuple[Stage, ...] = ()) -> JobSpec:
    return JobSpec("j", node_assignments=assignments, stages=stages)


def bound(s: JobSpec, nodes: list[Node], **kw) -> list[tuple[str, str, str]]:
    return [(b.slot.name, b.node.node_id, b.match) for b in assign_nodes(s, nodes, **kw)]


def test_slots_expand_count_with_indexed_names():
    s = spec(NodeAssignment("srv", DB), NodeAssignment("cli", LD, count=3))
    assert [(x.name, x.assignment, x.index) for x in job_slots(s)] == [
        ("srv", "srv", 0),
        ("cli-0", "cli", 1),
        ("cli-1", "cli", 2),
        ("cli-2", "cli", 3),
    ]


def test_exact_role_before_any_node():
    nodes = [Node("a", ANY), Node("d", DB), Node("l", LD)]
    assert bound(spec(NodeAssignment("srv", DB), NodeAssignment("cli", LD)), nodes) == [
        ("srv", "d", "exact"),
        ("cli", "l", "exact"),
    ]


def test_any_node_serves_a_specific_role_when_no_exact_node_is_free():
    nodes = [Node("a", ANY), Node("l", LD)]
    assert bound(spec(NodeAssignment("srv", DB), NodeAssignment("cli", LD)), nodes) == [
        ("srv", "a", "any"),
        ("cli", "l", "exact"),
    ]


def test_any_slot_leaves_specific_nodes_to_specific_slots():
    # the any-role slot comes first in the spec but is bound last, so the database
    # slot still finds the only `any` node
    nodes = [Node("a", ANY), Node("l", LD)]
    got = bound(spec(NodeAssignment("w", ANY), NodeAssignment("srv", DB)), nodes)
    assert got == [("w", "l", "any"), ("srv", "a", "any")]


def test_role_mismatch_is_refused_with_the_assignment_named():
    with pytest.raises(
        ScheduleError,
        match=r"assignment 'srv' needs 1 node\(s\) of role database, 0 available of 1",
    ):
        assign_nodes(spec(NodeAssignment("srv", DB)), [Node("l", LD)])


def test_each_slot_takes_a_distinct_node():
    assert try_assign(job_slots(spec(NodeAssignment("w", count=3))), [Node("a"), Node("b")]) is None


def test_requirements_are_minimum_capacities():
    s = spec(NodeAssignment("db", DB, requirements=Requirements(cores=8, mem_mb=16000)))
    nodes = [Node("small", DB, cores=4, mem_mb=32000), Node("big", DB, cores=16, mem_mb=16000)]
    assert bound(s, nodes) == [("db", "big", "exact")]
    with pytest.raises(ScheduleError, match="matching its selectors/requirements"):
        assign_nodes(s, nodes[:1])


def test_assignment_selectors_by_name_and_labels():
    nodes = [
        Node("a", labels=(("disk", "hdd"),)),
        Node("b", labels=(("disk", "ssd"),)),
        Node("c", host="pinned"),
    ]
    assert bound(
        spec(NodeAssignment("x", selectors=(Selector(labels=(("disk", "ssd"),)),))), nodes
    ) == [("x", "b", "exact")]
    assert bound(spec(NodeAssignment("x", selectors=(Selector(name="pinned"),))), nodes) == [
        ("x", "c", "exact")
    ]
    # OR between selectors
    either = (Selector(name="a"), Selector(name="c"))
    assert bound(
        spec(NodeAssignment("x", selectors=either), NodeAssignment("y", selectors=either)), nodes
    ) == [
        ("x", "a", "exact"),
        ("y", "c", "exact"),
    ]


def test_matching_finds_a_binding_greedy_misses():
    # greedy gives x (anything) the first node, a, which is the only node y accepts
    nodes = [Node("a", labels=(("k", "v"),)), Node("b")]
    s = spec(NodeAssignment("x"), NodeAssignment("y", selectors=(Selector(labels=(("k", "v"),)),)))
    got = sorted(bound(s, nodes))
    assert got == [("x", "b", "exact"), ("y", "a", "exact")]


def test_loader_packing_only_when_nodes_run_short():
    s = spec(NodeAssignment("db", DB), NodeAssignment("ld", LD, count=4))
    nodes = [Node("d", DB), Node("l1", LD), Node("l2", LD)]
    assert try_assign(job_slots(s), nodes) is None
    got = bound(s, nodes, max_loader_pack=3)
    per_node = {}
    for _, node, _ in got:
        per_node[node] = per_node.get(node, 0) + 1
    assert per_node == {"d": 1, "l1": 3, "l2": 1}
    # with enough nodes nothing is packed
    more = nodes + [Node("l3", LD), Node("l4", LD)]
    assert len({n for _, n, _ in bound(s, more, max_loader_pack=3)}) == 5


def test_stage_selectors_pick_bound_slots():
    s = spec(
        NodeAssignment("srv", DB),
        NodeAssignment("cli", LD, count=2),
        stages=(
            Stage("by_name", selectors=(Selector(name="cli"),)),
            Stage("by_role", selectors=(Selector(role=DB),)),
            Stage("everyone", selectors=(Selector(all=True),)),
            Stage("nobody", selectors=(Selector(none=True),)),
            Stage("one_slot", selectors=(Selector(name="cli-1"),)),
            Stage("labelled", selectors=(Selector(labels=(("rack", "2"),)),)),
        ),
    )
    nodes = [Node("d", DB), Node("l1", LD, labels=(("rack", "2"),)), Node("l2", LD)]
    b = assign_nodes(s, nodes)
    picked = {st.name: [x.slot.name for x in select_bindings(s, st, b)] for st in s.stages}
    assert picked == {
        "by_name": ["cli-0", "cli-1"],
        "by_role": ["srv"],
        "everyone": ["srv", "cli-0", "cli-1"],
        "nobody": [],
        "one_slot": ["cli-1"],
        "labelled": ["cli-0"],
    }


# -- slots of role any without constraints: the fast binding is the general greedy one --


@st.composite
def free_nodes(draw):
    n = draw(st.integers(0, 12))
    roles = draw(st.lists(st.sampled_from(ROLES), min_size=n, max_size=n))
    cores = draw(st.lists(st.sampled_from([1.0, 8.0, -1.0]), min_size=n, max_size=n))
    ids = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n))  # repeats: listed twice
    return [Node(f"n{i}", role, cores=c) for i, role, c in zip(ids, roles, cores, strict=True)]


@settings(max_examples=examples(50), deadline=None)
@given(free=free_nodes(), n=st.integers(1, 6))
def test_assign_any_is_the_general_greedy_binding(free, n):
    slots = tuple(Slot(f"w-{i}", "w", Role.ANY, i) for i in range(n))
    assert _assign_any(slots, free) == _greedy(slots, free, 1)


def test_assign_any_prefers_nodes_of_role_any_then_others_in_order():
    free = [Node("d", Role.DATABASE), Node("a1"), Node("l", Role.LOADER), Node("a2")]
    slots = tuple(Slot(f"w-{i}", "w", Role.ANY, i) for i in range(3))
    got = try_assign(slots, free)
    assert [(b.slot.name, b.node.node_id, b.match) for b in got] == [
        ("w-0", "a1", "exact"),
        ("w-1", "a2", "exact"),
        ("w-2", "d", "any"),
    ]
    assert try_assign(slots, free[:2]) is None


# -- the engine's memo of node ranks gives the bindings of a call without it -----------

CLUSTER = [
    Node(f"{role.value}{i}", role, cores=cores)
    for i, (role, cores) in enumerate(
        [(DB, 16.0), (DB, 4.0), (LD, 8.0), (LD, 8.0), (LD, 2.0), (ANY, 8.0), (ANY, 1.0)]
    )
]
SHAPES = [
    spec(
        NodeAssignment("db", DB, requirements=Requirements(cores=8)),
        NodeAssignment("l", LD, count=2),
    ),
    spec(NodeAssignment("w", ANY, count=2), NodeAssignment("srv", DB)),
    spec(
        NodeAssignment("l", LD, selectors=(Selector(name="loader3"), Selector(role=ANY)), count=2)
    ),
]


@settings(max_examples=examples(40), deadline=None)
@given(
    shape=st.sampled_from(range(len(SHAPES))),
    pack=st.sampled_from([1, 2]),
    frees=st.lists(
        st.lists(st.booleans(), min_size=len(CLUSTER), max_size=len(CLUSTER)), max_size=8
    ),
)
def test_slot_ranks_memo_gives_the_bindings_of_a_fresh_call(shape, pack, frees):
    slots = job_slots(SHAPES[shape])
    memo = SlotRanks(slots)
    for mask in frees:
        free = [node for node, is_free in zip(CLUSTER, mask, strict=True) if is_free]
        fresh = try_assign(slots, free, max_loader_pack=pack)
        assert try_assign(slots, free, max_loader_pack=pack, ranks=memo) == fresh
