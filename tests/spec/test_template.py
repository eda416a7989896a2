"""Command templates: parsing and rendering."""

from __future__ import annotations

import shlex

import pytest

from benchhub_sim.errors import SpecError
from benchhub_sim.spec import TemplateRef, parse_templates, render

NODES = {"srv": ["10.0.0.1"], "loaders": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}
THIS = ("cli", "id-loader", "10.0.0.9")


def test_parse_finds_every_form_with_offsets() -> None:
    text = "a {{.Nodes.srv.Ip}} b {{ .Node.db.Ip }} {{.Node.Ip}}{{.Node.Name}} {{.Node.Id}}"
    refs = parse_templates(text)
    assert [(r.assignment, r.field) for r in refs] == [
        ("srv", "Ip"),
        ("db", "Ip"),
        (None, "Ip"),
        (None, "Name"),
        (None, "Id"),
    ]
    assert refs[0] == TemplateRef("{{.Nodes.srv.Ip}}", 2, 19, "srv", "Ip")
    assert all(text[r.start : r.end] == r.raw for r in refs)


def test_parse_without_templates() -> None:
    assert parse_templates("echo {not a template} }}") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x {{.Nodes.srv.Ip", "unclosed '{{' at offset 2: expected '}}', found end of text"),
        ("{{.Nodes.srv.Host}}", "template {{.Nodes.srv.Host}}: unknown field 'Host' (expected Ip)"),
        ("{{.Node.Port}}", "template {{.Node.Port}}: unknown field 'Port' (expected Ip, Name, Id)"),
        (
            "{{ printf .Node.Ip }}",
            "malformed template {{ printf .Node.Ip }}: expected .Nodes.NAME.Ip, .Node.NAME.Ip, "
            ".Node.Ip, .Node.Name or .Node.Id, found 'printf .Node.Ip'",
        ),
    ],
)
def test_parse_malformed_raises(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_templates(text)
    assert info.value.problems == [message]


def test_render_named_and_this_node() -> None:
    text = "ping {{.Nodes.srv.Ip}}:8080 from {{.Node.Name}}/{{.Node.Id}} at {{ .Node.Ip }}"
    assert (
        render(text, nodes=NODES, this=THIS) == "ping 10.0.0.1:8080 from cli/id-loader at 10.0.0.9"
    )


def test_render_earlier_dialect_form_means_the_same() -> None:
    assert (
        render("{{.Node.srv.Ip}}", nodes=NODES)
        == render("{{.Nodes.srv.Ip}}", nodes=NODES)
        == "10.0.0.1"
    )


def test_render_count_above_one_joins_with_commas() -> None:
    assert (
        render("--hosts={{.Nodes.loaders.Ip}}", nodes=NODES) == "--hosts=10.0.0.2,10.0.0.3,10.0.0.4"
    )


def test_render_text_without_templates_is_unchanged() -> None:
    assert render("echo '{ }' }}", nodes={}) == "echo '{ }' }}"


def test_render_quote_keeps_a_hostile_value_one_word() -> None:
    nodes = {"srv": ["x; rm -rf y"]}
    out = render("ping {{.Nodes.srv.Ip}}", nodes=nodes, quote=True)
    assert out == "ping 'x; rm -rf y'"
    assert shlex.split(out) == ["ping", "x; rm -rf y"]
    joined = render("{{.Nodes.loaders.Ip}}", nodes=NODES, quote=True)
    assert shlex.split(joined) == ["10.0.0.2,10.0.0.3,10.0.0.4"]


def test_render_unknown_assignment_raises() -> None:
    with pytest.raises(SpecError) as info:
        render("{{.Nodes.db.Ip}}", nodes=NODES)
    assert info.value.problems == [
        "template {{.Nodes.db.Ip}}: unknown assignment 'db' (known: loaders, srv)"
    ]


def test_render_this_node_without_this_raises() -> None:
    with pytest.raises(SpecError) as info:
        render("{{.Node.Ip}}", nodes=NODES)
    assert info.value.problems == [
        "template {{.Node.Ip}}: needs the node the task runs on, none given"
    ]
