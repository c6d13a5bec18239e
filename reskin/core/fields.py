"""Reading user YAML with errors that name the file, the line and the field.

``load_yaml`` keeps the line of every value; ``Fields`` pulls typed values out of a mapping and
raises :class:`ReskinError` like ``episodes/ep01.yaml:12: shots[1].duration: must be > 0``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from reskin.core.errors import ReskinError


class Located:
    """A parsed YAML value with the line it came from (1-based)."""

    __slots__ = ("value", "line", "key_lines")

    def __init__(self, value: Any, line: int, key_lines: dict[str, int] | None = None):
        self.value = value
        self.line = line
        self.key_lines = key_lines or {}
        """For a mapping: the line each key is written on (a block value starts below it)."""

    def __repr__(self) -> str:  # an accidental leak into a message still reads as the value
        return repr(self.value)


def _build(node: yaml.Node) -> Located:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Located] = {}
        key_lines: dict[str, int] = {}
        for k, v in node.value:
            out[str(k.value)] = _build(v)
            key_lines[str(k.value)] = k.start_mark.line + 1
        return Located(out, line, key_lines)
    if isinstance(node, yaml.SequenceNode):
        return Located([_build(v) for v in node.value], line)
    if node.tag == _STR:  # most values: the scalar's text is the value
        return Located(node.value, line)
    value = _SCALARS.construct_object(node, deep=True)
    _SCALARS.constructed_objects.clear()  # nodes are not shared between values: keep none
    return Located(value, line)


_STR = "tag:yaml.org,2002:str"


_SCALARS = yaml.SafeLoader("")
"""One constructor for every scalar (making a loader per value cost more than the parse)."""
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
"""libyaml's parser when PyYAML has it (same nodes and lines, several times faster); an error is
re-parsed by the Python one, so messages read the same either way."""


def load_yaml(path: str | Path, *, display: str | None = None) -> Fields:
    """Parse ``path`` into a :class:`Fields` over its top-level mapping."""
    path = Path(path)
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReskinError("file not found", file=shown) from None
    except UnicodeDecodeError:
        raise ReskinError("not UTF-8 text", file=shown) from None
    try:
        try:
            node = yaml.compose(text, Loader=_FAST_LOADER or yaml.SafeLoader)
        except yaml.YAMLError:
            if _FAST_LOADER is None:
                raise
            node = yaml.compose(text, Loader=yaml.SafeLoader)  # its message (or its nodes)
    except yaml.YAMLError as exc:
        from reskin.core.yaml_errors import describe

        line, problem = describe(exc, text)
        where = f"{shown}:{line}" if line else shown
        raise ReskinError(problem, file=where) from None
    if node is None:
        root = Located({}, 1)
    else:
        root = _build(node)
    return Fields(root, shown, "")


class Fields:
    """A YAML mapping being validated; every accessor knows its file, line and field path."""

    def __init__(self, located: Located, file: str, path: str):
        self.file = file
        self.path = path
        self.line = located.line
        if not isinstance(located.value, dict):
            self.error(f"expected a mapping, got {_kind(located.value)}")
        self.items: dict[str, Located] = located.value
        self.key_lines: dict[str, int] = located.key_lines
        self._used: set[str] = set()

    def error(self, message: str, key: str | None = None, line: int | None = None) -> ReskinError:
        field = self._sub(key) if key is not None else (self.path or None)
        if line is None:
            line = self.items[key].line if key in getattr(self, "items", {}) else self.line
        raise ReskinError(message, file=f"{self.file}:{line}", field=field)

    def _sub(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def _missing(self, key: str) -> None:
        near = _closest(key, [k for k in self.items if k not in self._used])
        if near:
            self.error(f"unknown field (did you mean {key!r}?)", near)
        self.error("required field is missing", key)

    def keys(self, known: Sequence[str], what: str = "field") -> list[str]:
        """The keys of this mapping, each checked to be one of ``known`` (for mappings keyed by
        name: wardrobe regions, generator parameters, joints). An unknown key raises
        ``file:line: path.key: unknown <what> (known: a, b; did you mean 'a'?)``."""
        for key in self.items:
            if key not in known:
                near = _closest(str(key), [str(k) for k in known])
                hint = f"; did you mean {near!r}?" if near else ""
                self.error(f"unknown {what} (known: {', '.join(map(str, known))}{hint})", key,
                           self.key_lines.get(key))
        return list(self.items)

    def _take(self, key: str, default: Any) -> bool:
        """Mark ``key`` as read; whether it is present. Absent without a default (``...``)
        is the one-line "required field is missing" error."""
        self._used.add(key)
        if key in self.items:
            return True
        if default is ...:
            self._missing(key)
        return False

    def has(self, key: str) -> bool:
        return key in self.items

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
        *,
        choices: Sequence[Any] | None = None,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """The value at ``key`` of type ``kind``; ``check`` returns an error text or None."""
        if not self._take(key, default):
            return default
        loc = self.items[key]
        value = loc.value
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, Located) or not isinstance(value, kinds) or (
            isinstance(value, bool) and bool not in kinds
        ):
            want = " or ".join(_name(k) for k in kinds)
            self.error(f"expected {want}, got {_kind(value)}", key, loc.line)
        if choices is not None and value not in choices:
            if isinstance(value, (dict, list)):
                self.error(f"expected one of {', '.join(map(str, choices))}, got "
                           f"{_kind(value)}", key, loc.line)
            near = _closest(str(value), [str(c) for c in choices])
            hint = f" (did you mean {near!r}?)" if near else ""
            self.error(f"{value!r} is not one of {', '.join(map(str, choices))}{hint}",
                       key, loc.line)
        if check is not None:
            problem = check(value)
            if problem:
                self.error(problem, key, loc.line)
        return value

    def sub(self, key: str, default: Any = ...) -> Fields | None:
        if not self._take(key, default):
            return default
        return Fields(self.items[key], self.file, self._sub(key))

    def list_of_fields(self, key: str, default: Any = ...) -> list[Fields]:
        if not self._take(key, default):
            return default
        loc = self.items[key]
        if not isinstance(loc.value, list):
            self.error(f"expected a list, got {_kind(loc.value)}", key, loc.line)
        return [Fields(item, self.file, f"{self._sub(key)}[{i}]")
                for i, item in enumerate(loc.value)]

    def numbers(self, key: str, n: int, default: Any = ...) -> tuple[float, ...]:
        """A list of exactly ``n`` finite numbers."""
        if not self._take(key, default):
            return default
        loc = self.items[key]
        vals = loc.value
        ok = isinstance(vals, list) and len(vals) == n and all(
            isinstance(v.value, (int, float)) and not isinstance(v.value, bool) for v in vals
        )
        if not ok:
            self.error(f"expected a list of {n} numbers", key, loc.line)
        out = tuple(float(v.value) for v in vals)
        if not all(abs(x) < 1e6 for x in out):
            self.error("numbers must be finite and reasonable", key, loc.line)
        return out

    def done(self) -> None:
        """Refuse keys nobody asked for: they are typos more often than not."""
        for key, loc in self.items.items():
            if key not in self._used:
                near = _closest(key, sorted(self._used))
                hint = f" (did you mean {near!r}?)" if near else ""
                self.error(f"unknown field{hint}", key, self.key_lines.get(key, loc.line))


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def _name(kind: type) -> str:
    return {str: "text", int: "an integer", float: "a number", bool: "true/false",
            list: "a list", dict: "a mapping"}.get(kind, kind.__name__)


def _closest(word: str, options: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None
