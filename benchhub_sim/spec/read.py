"""Reading a spec document: safe YAML that keeps each value's line, and typed readers.

:func:`parse_yaml` safe-loads one YAML document in two steps so that every value keeps
its line: the document is *composed* into a node tree by a :class:`yaml.SafeLoader`
subclass, then converted to plain Python by hand, recording ``path -> line`` in a
:class:`~benchhub_sim.spec.validate.Locator` on the way.

The readers (:func:`mapping`, :func:`string`, :func:`pairs`, ...) take a value of that
plain data and its path, and return it typed; a value of the wrong type becomes a
problem in the locator (``expected ..., found ...``) and a default, so that reading goes
on and every problem is collected before one error is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import yaml

from benchhub_sim.errors import Problem, SpecError
from benchhub_sim.spec.model import DockerAction, Driver, OwnerType, Role
from benchhub_sim.spec.validate import DocPath, Locator, did_you_mean

E = TypeVar("E", Role, Driver, DockerAction, OwnerType)


# --------------------------------------------------------------------------- YAML


class _LineLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """Safe loader used only to compose nodes; :func:`parse_yaml` converts them by hand."""


def parse_yaml(text: str, loc: Locator) -> Any:
    """Safe-load ``text``, recording each path's line in ``loc.lines``.

    Parameters
    ----------
    text : str
        One YAML document.
    loc : Locator
        Receives the lines, and problems such as duplicate keys.

    Returns
    -------
    object
        Plain Python data, as :func:`yaml.safe_load` would give.

    Raises
    ------
    SpecError
        On a YAML syntax error, located at its line.
    """
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _convert(loader, node, (), loc, set())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        raise SpecError([Problem(loc.where, line, "", f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(loc.where, None, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()


def _convert(
    loader: _LineLoader, node: yaml.Node, path: DocPath, loc: Locator, active: set[int]
) -> Any:
    loc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_object(node, deep=True)
    if id(node) in active:
        loc.add(path, "recursive YAML alias: expected a tree, found a cycle")
        return None
    active.add(id(node))
    try:
        if isinstance(node, yaml.SequenceNode):
            return [
                _convert(loader, item, path + (k,), loc, active)
                for k, item in enumerate(node.value)
            ]
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool):
                loc.add(path, f"expected a string key, found {kind(key)}", line=line)
                continue
            child = path + (str(key),)
            if key in first:
                loc.add(child, f"duplicate key (first at line {first[key]})", line=line)
            first.setdefault(key, line)
            loc.lines[child] = line
            out[key] = _convert(loader, value_node, child, loc, active)
        return out
    finally:
        active.discard(id(node))


# --------------------------------------------------------------------------- readers


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def mapping(
    value: Any, path: DocPath, loc: Locator, what: str, keys: Collection[str] | None
) -> dict[str, Any]:
    """``value`` as a mapping with only ``keys`` (None: any key); unknown keys are reported."""
    if not isinstance(value, dict):
        loc.add(path, f"expected {what} (a mapping), found {kind(value)}")
        return {}
    if keys is None:
        return value
    for key in value:
        if key not in keys:
            loc.add(path + (str(key),), f"unknown key{did_you_mean(key, keys)}")
    return {k: v for k, v in value.items() if k in keys}


def seq(value: Any, path: DocPath, loc: Locator, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        loc.add(path, f"expected {what} (a list), found {kind(value)}")
        return []
    return value


def string(value: Any, path: DocPath, loc: Locator, *, coerce: bool = False) -> str:
    if isinstance(value, str):
        return value
    if coerce and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    loc.add(path, f"expected a string, found {kind(value)}")
    return ""


def boolean(value: Any, path: DocPath, loc: Locator) -> bool:
    if isinstance(value, bool):
        return value
    loc.add(path, f"expected true or false, found {kind(value)}")
    return False


def number(value: Any, path: DocPath, loc: Locator) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    loc.add(path, f"expected a number, found {kind(value)}")
    return 0.0


def integer(value: Any, path: DocPath, loc: Locator) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    loc.add(path, f"expected a whole number, found {kind(value)}")
    return 0


def choice(
    cls: type[E],
    value: Any,
    path: DocPath,
    loc: Locator,
    default: E,
    aliases: Mapping[str, E] | None = None,
) -> E:
    """A member of ``cls`` by its value or one of ``aliases``, in any case."""
    names = {m.value: m for m in cls} | dict(aliases or {})
    if isinstance(value, str) and value.lower() in names:
        return names[value.lower()]
    hint = did_you_mean(value.lower(), names) if isinstance(value, str) else ""
    loc.add(path, f"expected one of {', '.join(names)} (any case), found {kind(value)}{hint}")
    return default


def alias(
    data: Mapping[str, Any], path: DocPath, loc: Locator, canonical: str, *others: str
) -> Any:
    """The value under ``canonical`` or one of its aliases; map the model path to it."""
    given = [k for k in (canonical, *others) if k in data]
    if len(given) > 1:
        loc.add(path + (given[1],), f"both {given[0]!r} and {given[1]!r} given: expected one")
    if not given:
        return None
    if given[0] != canonical:
        loc.renames[path + (canonical,)] = path + (given[0],)
    return data[given[0]]


def items(
    value: Any, path: DocPath, loc: Locator, what: str, read: Callable[[Any, DocPath, int], Any]
) -> tuple[Any, ...]:
    return tuple(read(item, path + (k,), k) for k, item in enumerate(seq(value, path, loc, what)))


def names(value: Any, path: DocPath, loc: Locator, what: str) -> tuple[str, ...]:
    return items(value, path, loc, what, lambda v, p, _k: string(v, p, loc))


def words(value: Any, path: DocPath, loc: Locator, what: str) -> tuple[str, ...]:
    """A list of strings where numbers count as text (arguments: ``[-n, 5]``)."""
    return items(value, path, loc, what, lambda v, p, _k: string(v, p, loc, coerce=True))


def pairs(
    value: Any, path: DocPath, loc: Locator, what: str, *, env: bool = False
) -> tuple[tuple[str, str], ...]:
    """``{K: V}`` or types.proto's ``[{k: K, v: V}]`` (``Env``, ``Label``) as pairs in
    file order. A missing ``v`` is "" as Go decodes it; a key given twice is a problem."""
    if value is None:
        return ()
    entries: list[tuple[Any, Any, DocPath, DocPath]] = []  # key, value, key path, value path
    if isinstance(value, list):
        for i, item in enumerate(value):
            ipath = path + (i,)
            entry = mapping(item, ipath, loc, f"{what} entry {{k, v}}", ("k", "v"))
            if isinstance(item, dict) and "k" not in entry:
                loc.add(ipath, "missing key 'k': expected {k: NAME, v: VALUE}")
            elif "k" in entry:
                entries.append((entry["k"], entry.get("v"), ipath + ("k",), ipath + ("v",)))
    elif isinstance(value, dict):
        entries = [(k, v, path + (str(k),), path + (str(k),)) for k, v in value.items()]
    else:
        loc.add(path, f"expected {what} (a list of {{k, v}} or a mapping), found {kind(value)}")
    out: dict[str, str] = {}
    first: dict[str, DocPath] = {}
    for key, item, kpath, vpath in entries:
        name = string(key, kpath, loc, coerce=True)
        if not name or (env and "=" in name):
            loc.add(
                kpath, f"expected a non-empty name{' without =' if env else ''}, found {name!r}"
            )
        elif name in first:
            loc.add(kpath, f"duplicate key {name!r} (first at {loc.at(first[name])})")
        else:
            first[name] = kpath
            out[name] = text_value(item, vpath, loc)
    return tuple(out.items())


def text_value(value: Any, path: DocPath, loc: Locator) -> str:
    """A value given to a process or compared with a label: numbers and booleans as
    text (``true``/``false``), null as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return string(value, path, loc, coerce=True)
