"""The package's layers run one way: core < assets < rigging < skins < scenes < render < pipeline
< cli. A module imports its own layer or a lower one, lazily or not (``if TYPE_CHECKING:``
imports excepted), there are no import cycles (the click group importing the command modules
that register on it excepted), and only ``reskin/render/blender/`` imports bpy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reskin"
LAYERS = ("core", "assets", "rigging", "skins", "scenes", "render", "pipeline", "cli")


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``path``, ``from a import b`` also as a.b."""
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skipped.update(id(n) for n in ast.walk(sub))
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def layer_of(module: str, top: str = "reskin") -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "core"  # the package's __init__ holds the version


def check(root: Path) -> tuple[list[str], list[list[str]], list[str]]:
    """Back edges ("file:line: a imports b"), import cycles, and modules outside any layer."""
    modules = _modules(root)
    back, unplaced, graph = [], [], {}
    for module, path in modules.items():
        layer = layer_of(module)
        if layer not in LAYERS:
            unplaced.append(module)
            continue
        for line, target in _imports(path, module, path.name == "__init__.py"):
            if target not in modules or target == module:
                continue
            graph.setdefault(module, set()).add(target)
            if LAYERS.index(layer_of(target)) > LAYERS.index(layer):
                back.append(f"{path.relative_to(root.parent)}:{line}: {module} imports {target}")
    return back, _cycles(graph), unplaced


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), minus the CLI's own."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    # The click group imports its command modules, which register on it: not a design cycle.
    return [c for c in found if not all(m.startswith("reskin.cli") for m in c)]


def test_no_module_imports_a_higher_layer_and_no_cycles():
    back, cycles, unplaced = check(PACKAGE)
    assert not unplaced, f"modules outside the layers {LAYERS}: {unplaced}"
    assert not back, "imports against the layers:\n" + "\n".join(back)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_only_the_blender_worker_imports_bpy():
    offenders = []
    for module, path in _modules(PACKAGE).items():
        if module.startswith("reskin.render.blender"):
            continue
        for line, target in _imports(path, module, path.name == "__init__.py"):
            if target.split(".")[0] == "bpy":
                offenders.append(f"{path}:{line}")
    assert not offenders, f"bpy imported outside reskin/render/blender: {offenders}"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "reskin" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "reskin"


@pytest.mark.parametrize("text", [
    "from reskin.pipeline.build import x\n",
    "def f():\n    from reskin.pipeline import build\n",
    "from ..pipeline import build\n",
])
def test_the_check_finds_a_back_edge_however_it_is_written(tmp_path, text):
    root = _write(tmp_path, {"__init__.py": "", "core/__init__.py": "", "core/mesh.py": text,
                             "pipeline/__init__.py": "", "pipeline/build.py": "x = 1\n"})
    back, _, _ = check(root)
    where = f"reskin/core/mesh.py:{text.count(chr(10))}: reskin.core.mesh imports reskin.pipeline"
    assert back and all(b.startswith(where) for b in back), back


def test_the_check_finds_a_cycle_but_ignores_type_checking_imports(tmp_path):
    root = _write(tmp_path, {
        "__init__.py": "", "skins/__init__.py": "",
        "skins/a.py": "from reskin.skins import b\n",
        "skins/b.py": "def f():\n    from reskin.skins.a import g\n",
        "skins/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from reskin.pipeline.build import x\n"})
    back, cycles, _ = check(root)
    assert back == []
    assert cycles == [["reskin.skins.a", "reskin.skins.b"]]
