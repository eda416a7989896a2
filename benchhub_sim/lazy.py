"""Names of a package imported when first used (PEP 562).

A package lists each such name with the module that defines it and sets its module
``__getattr__`` to :func:`lazy_getattr` of that table: ``import benchhub_sim`` (or
``benchhub_sim.store``, ``benchhub_sim.analysis``) then imports none of those modules,
and a command loads only what it uses.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
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
