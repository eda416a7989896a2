"""Command templates: BenchHub's Go-template references to node addresses.

A task's command may name the address of another assignment's node(s) or of the node
the task runs on. The forms BenchHub's files use:

==========================  =====================================================
``{{.Nodes.NAME.Ip}}``      address(es) of assignment ``NAME`` (later dialect)
``{{.Node.NAME.Ip}}``       the same (earlier dialect)
``{{.Node.Ip}}``            address of the node the task runs on
``{{.Node.Name}}``          assignment name of the node the task runs on
``{{.Node.Id}}``            node id of the node the task runs on
==========================  =====================================================

Spaces inside the braces are allowed (``{{ .Node.Ip }}``). Anything else between
``{{`` and ``}}`` is malformed. Rendering happens at plan time (see :func:`render`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from benchhub_sim.errors import SpecError

#: Fields a reference to a named assignment may ask for.
NAMED_FIELDS: tuple[str, ...] = ("Ip",)
#: Fields a reference to the task's own node may ask for.
THIS_FIELDS: tuple[str, ...] = ("Ip", "Name", "Id")

_IDENT = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
_NAMED = re.compile(rf"\.(Nodes|Node)\.({_IDENT})\.({_IDENT})")
_THIS = re.compile(rf"\.Node\.({_IDENT})")


@dataclass(frozen=True)
class TemplateRef:
    """One ``{{...}}`` reference found in a text.

    Attributes
    ----------
    raw : str
        The reference as written, braces included.
    start, end : int
        Its slice ``text[start:end]``.
    assignment : str or None
        The assignment named (``.Nodes.NAME.*`` / ``.Node.NAME.*``), or None for the
        node the task runs on (``.Node.Ip``, ``.Node.Name``, ``.Node.Id``).
    field : str
        ``Ip``, ``Name`` or ``Id``.
    """

    raw: str
    start: int
    end: int
    assignment: str | None
    field: str


def scan_templates(text: str) -> tuple[list[TemplateRef], list[str]]:
    """Every well-formed reference in ``text``, and a message per malformed one.

    Parameters
    ----------
    text : str
        A command, argument or environment value.

    Returns
    -------
    refs : list of TemplateRef
        The well-formed references, in order.
    errors : list of str
        One message per malformed reference (unclosed ``{{``, unknown expression or field).
    """
    refs: list[TemplateRef] = []
    errors: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            break
        close = text.find("}}", start + 2)
        if close < 0:
            errors.append(f"unclosed '{{{{' at offset {start}: expected '}}}}', found end of text")
            break
        end = close + 2
        raw = text[start:end]
        ref, error = _parse_one(raw, start, end)
        if ref is not None:
            refs.append(ref)
        else:
            errors.append(error)
        pos = end
    return refs, errors


def _parse_one(raw: str, start: int, end: int) -> tuple[TemplateRef | None, str]:
    expr = raw[2:-2].strip()
    named = _NAMED.fullmatch(expr)
    if named:
        _, name, fld = named.groups()
        if fld not in NAMED_FIELDS:
            return None, _bad_field(raw, fld, NAMED_FIELDS)
        return TemplateRef(raw, start, end, name, fld), ""
    this = _THIS.fullmatch(expr)
    if this:
        fld = this.group(1)
        if fld not in THIS_FIELDS:
            return None, _bad_field(raw, fld, THIS_FIELDS)
        return TemplateRef(raw, start, end, None, fld), ""
    return None, (
        f"malformed template {raw}: expected .Nodes.NAME.Ip, .Node.NAME.Ip, "
        f".Node.Ip, .Node.Name or .Node.Id, found {expr!r}"
    )


def _bad_field(raw: str, fld: str, allowed: Sequence[str]) -> str:
    return f"template {raw}: unknown field {fld!r} (expected {', '.join(allowed)})"


def parse_templates(text: str) -> list[TemplateRef]:
    """The references in ``text``; raise on the first malformed one.

    Parameters
    ----------
    text : str
        A command, argument or environment value.

    Returns
    -------
    list of TemplateRef

    Raises
    ------
    SpecError
        If a reference is malformed (every malformed one is listed).

    Examples
    --------
    >>> [r.assignment for r in parse_templates("ping {{.Nodes.srv.Ip}} from {{.Node.Ip}}")]
    ['srv', None]
    """
    refs, errors = scan_templates(text)
    if errors:
        raise SpecError(errors)
    return refs


@lru_cache(maxsize=1024)
def _parsed(text: str) -> tuple[TemplateRef, ...]:
    """:func:`parse_templates` of ``text``, remembered: a simulated run renders the same
    few command texts for every job of a spec."""
    return tuple(parse_templates(text))


def render(
    text: str,
    *,
    nodes: Mapping[str, Sequence[str]],
    this: tuple[str, str, str] | None = None,
    quote: bool = False,
) -> str:
    """Replace every reference in ``text`` with the address, name or id it names.

    Parameters
    ----------
    text : str
        The text to render.
    nodes : mapping of str to sequence of str
        Assignment name -> addresses of its nodes; an assignment with ``count > 1``
        has several, rendered comma-joined.
    this : (name, node_id, address), optional
        The node the task runs on; needed by ``.Node.Ip``, ``.Node.Name``, ``.Node.Id``.
    quote : bool, default False
        Shell-quote every inserted value (:func:`shlex.quote`), so that a value such as
        ``x; rm -rf y`` stays one word.

    Returns
    -------
    str

    Raises
    ------
    SpecError
        A reference is malformed, names an assignment not in ``nodes``, or needs
        ``this`` when none was given.

    Examples
    --------
    >>> render("ping {{.Nodes.srv.Ip}}:8080", nodes={"srv": ["10.0.0.2"]})
    'ping 10.0.0.2:8080'
    >>> render("on {{ .Node.Name }}", nodes={}, this=("cli", "id-loader", "10.0.0.3"))
    'on cli'
    """
    refs = _parsed(text)
    errors: list[str] = []
    parts: list[str] = []
    pos = 0
    for ref in refs:
        value = _value(ref, nodes, this, errors)
        parts.append(text[pos : ref.start])
        parts.append(shlex.quote(value) if quote else value)
        pos = ref.end
    if errors:
        raise SpecError(errors)
    parts.append(text[pos:])
    return "".join(parts)


def _value(
    ref: TemplateRef,
    nodes: Mapping[str, Sequence[str]],
    this: tuple[str, str, str] | None,
    errors: list[str],
) -> str:
    if ref.assignment is not None:
        if ref.assignment not in nodes:
            known = ", ".join(sorted(nodes)) or "none"
            errors.append(
                f"template {ref.raw}: unknown assignment {ref.assignment!r} (known: {known})"
            )
            return ""
        return ",".join(nodes[ref.assignment])
    if this is None:
        errors.append(f"template {ref.raw}: needs the node the task runs on, none given")
        return ""
    name, node_id, address = this
    return {"Ip": address, "Name": name, "Id": node_id}[ref.field]
