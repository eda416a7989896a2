"""The package's layers only look down.

Every import of a ``benchhub_sim`` module by another, at module level or inside a
function, must go to the same layer or one below (see :data:`benchhub_sim.LAYERS`). An
import inside a function is for start-up time only, never a way around this rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import benchhub_sim
from benchhub_sim import LAYERS

PACKAGE = Path(benchhub_sim.__file__).resolve().parent


def layer_of(module: str) -> int:
    """The layer of ``benchhub_sim.X...`` (its first component X)."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else "__init__"
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"{module}: in no layer of benchhub_sim.LAYERS")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(source: str, module: str) -> list[tuple[int, str]]:
    """(line, imported module) of every benchhub_sim import in ``source``."""
    package = module if module.count(".") == 0 else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:  # relative: resolve against the importing package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, name] if name else base)
            if name == "benchhub_sim":  # from benchhub_sim import X: X is a module or a name
                found += [(node.lineno, f"benchhub_sim.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, name))
    return [(line, name) for line, name in found if name.split(".")[0] == "benchhub_sim"]


def upward(source: str, module: str) -> list[str]:
    """The imports in ``source`` (the text of ``module``) that go up a layer."""
    mine = layer_of(module)
    out = []
    for line, name in imports(source, module):
        try:
            theirs = layer_of(name)
        except AssertionError:
            theirs = layer_of(name.rsplit(".", 1)[0])  # from benchhub_sim import a_name
        if theirs > mine:
            out.append(f"{module}:{line}: imports {name} (layer {theirs} > {mine})")
    return out


def test_every_module_is_in_a_layer():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))


def test_no_module_imports_a_layer_above_its_own():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        problems += upward(path.read_text(encoding="utf-8"), module_name(path))
    assert not problems, "\n".join(problems)


def test_the_check_finds_an_upward_import_even_inside_a_function():
    source = "def f():\n    from benchhub_sim.analysis.metrics import summary\n"
    assert upward(source, "benchhub_sim.store.run") == [
        f"benchhub_sim.store.run:2: imports benchhub_sim.analysis.metrics "
        f"(layer {layer_of('benchhub_sim.analysis')} > {layer_of('benchhub_sim.store')})"
    ]
    assert upward("from ..analysis import summary\n", "benchhub_sim.store.run")
    assert not upward("from benchhub_sim.errors import StoreError\n", "benchhub_sim.store.run")
