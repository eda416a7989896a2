"""No module of the engine or the store reads or writes another object's private attribute.

Fast paths hand work over through public methods of the object that owns the state
(``Central.adopt``, ``Store.unlogged``, ``History.close_blocks``, ...), so the owner keeps
its invariants. Allowed: ``self._x`` and ``cls._x``, ``other._x`` inside a class that
itself sets ``self._x`` (an object of the same class, e.g. in ``copy``), and the public
API of named tuples (``_make``, ``_replace``, ...), which is spelt with an underscore.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "benchhub_sim"
LAYERS = ("engine", "store")
NAMEDTUPLE_API = frozenset({"_make", "_replace", "_asdict", "_fields", "_field_defaults"})


def _own_attributes(cls: ast.ClassDef) -> set[str]:
    """The private attributes ``cls`` sets on ``self`` (or declares in ``__slots__``)."""
    own = set()
    for node in ast.walk(cls):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            own.add(node.attr)
    return own


def private_accesses(source: str) -> list[tuple[int, str]]:
    """(line, expression) of each access to another object's private attribute."""
    tree = ast.parse(source)
    allowed: dict[int, set[str]] = {}  # id(attribute node) -> names its class owns
    for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        own = _own_attributes(cls)
        for node in ast.walk(cls):
            allowed.setdefault(id(node), set()).update(own)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__") or name in NAMEDTUPLE_API:
            continue
        value = node.value
        if isinstance(value, ast.Name) and value.id in ("self", "cls"):
            continue
        if name in allowed.get(id(node), ()):
            continue
        out.append((node.lineno, ast.unparse(node)))
    return out


@pytest.mark.parametrize("layer", LAYERS)
def test_no_private_attribute_of_another_object(layer):
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {expr}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for line, expr in private_accesses(path.read_text())
    ]
    assert found == []


def test_the_check_finds_what_it_looks_for():
    source = (
        "class Central:\n"
        "    def __init__(self):\n"
        "        self._free = []\n"
        "    def copy(self, other):\n"
        "        other._free = list(self._free)\n"  # its own class: fine
        "def run_batch(engine, central):\n"
        "    engine._arrivals = None\n"
        "    return central._free, super()._x, engine.loop.now\n"
    )
    assert private_accesses(source) == [
        (7, "engine._arrivals"),
        (8, "central._free"),
        (8, "super()._x"),
    ]
