"""Names of a package imported when first used (PEP 562).

A package lists each such name with the module that defines it and sets its module
``__getattr__`` to :func:`lazy_getattr` of that table, and ``__dir__`` to
:func:`lazy_dir` (so that ``dir()`` and tab completion list the names before they are
first used): ``import benchhub_sim`` (or
``benchhub_sim.store``, ``benchhub_sim.analysis``) then imports none of those modules,
and a command loads only what it uses.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_getattr(package: str, lazy: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: import ``lazy[name]``'s module, return
    its ``name`` and keep it as a global of ``package``.

    Examples
    --------
    >>> getattr_ = lazy_getattr("benchhub_sim", {"plural": "benchhub_sim.display"})
    >>> getattr_("plural").__module__
    'benchhub_sim.display'
    """

    def __getattr__(name: str) -> Any:
        module = lazy.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        vars(sys.modules[package])[name] = value
        return value

    return __getattr__


def lazy_dir(package: str, names: Iterable[str]) -> Callable[[], list[str]]:
    """A module ``__dir__`` for ``package``: its globals and ``names`` (e.g. its
    ``__all__``), whether imported yet or not."""

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __dir__
