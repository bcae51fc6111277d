"""The package's imports form no circle, and no module imports another's private names.

Every `import` and `from … import` in `shrinkcli/` is read with `ast` (those inside functions
too, where a circle would otherwise hide) and resolved to the module it names; an edge runs
from each module to each module of the package it imports. A cycle among them fails, as does a
name with a leading underscore imported from another module (a wing's siblings share names
without one; see docs/architecture.md). A package's `__init__` builds its face from its
submodules, so a submodule importing its own package is a circle too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "shrinkcli"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> list[tuple[str, str, int]]:
    """(module imported, name imported or '', line) for each import in module `name`."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:  # `from . import theme`: the module itself
                    found.append((sub, "", node.lineno))
                else:
                    found.append((target, a.name, node.lineno))
    return [f for f in found if f[0] in MODULES]


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _, _ in imports(m):
            if target != m:
                edges[m].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_circle() -> None:
    found = cycles(graph())
    assert not found, "import circles: " + "; ".join(" ↔ ".join(c) for c in found)


def test_no_module_imports_another_modules_private_names() -> None:
    crossing = [
        f"{m}:{line} imports {name} from {target}"
        for m in sorted(MODULES)
        for target, name, line in imports(m)
        if name.startswith("_") and not name.startswith("__") and target != m
    ]
    assert not crossing, "\n".join(crossing)


def test_no_test_or_benchmark_imports_a_private_name() -> None:
    """Tests and benchmarks use the package as its modules offer it: what they import is public
    (a name a test needs is a name of the module's, without an underscore)."""
    root = PACKAGE.parent
    crossing = []
    for folder in ("tests", "bench", "tools"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shrinkcli"):
                    crossing += [
                        f"{path.relative_to(root)}:{node.lineno} imports {a.name}"
                        for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")
                    ]
    assert not crossing, "\n".join(crossing)


def test_the_check_sees_a_circle() -> None:
    """The checker itself: a two-module circle is found, a one-way import is not."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
