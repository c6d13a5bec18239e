"""A module imported on first use, for heavy imports a command may never need.

``ndimage = lazy_module("scipy.ndimage")`` at the top of a module reads like an import and costs
nothing until an attribute is used: a no-op ``reskin build`` makes the stylizer only for its
cache key and never filters an image, and scipy's import alone was a third of its time.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class _LazyModule:
    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str):  # noqa: ANN204
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> ModuleType:
    """``name`` (a dotted module path), imported when one of its attributes is first read."""
    return _LazyModule(name)  # type: ignore[return-value]
