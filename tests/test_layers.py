"""The tree is the architecture: layer packages whose imports point inward only.

Walks every module's imports (deferred ones too) and fails on an edge from an inner layer
to an outer one, on an import of the command line from outside it, on I/O in the domain,
and on an import cycle between modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "outcomeledger"

# Each layer and the layers it may import (besides itself). Inner layers first.
LAYERS: dict[str, set[str]] = {
    "domain": set(),
    "storage": {"domain"},
    "projections": {"domain", "storage"},
    "imports": {"domain", "storage", "projections"},
    "audit": {"domain", "storage", "projections"},
    "report": {"domain", "storage", "projections", "audit"},
    "publish": {"domain", "storage", "projections", "audit", "report"},
    "app": {"domain", "storage", "projections", "imports", "audit", "report", "publish"},
    "cli": {"domain", "storage", "projections", "imports", "audit", "report", "app",
            "publish"},
}
# Known edges against the rule, each to be removed, never added to. None are left: the
# store runs the read models inside its write transaction through the Projector that the
# application layer hands it (``app.ledger.open_ledger``), not by importing them.
KNOWN_UPWARD: set[tuple[str, str]] = set()
# What the domain may not touch: it computes, it never reads, writes or talks.
IO_MODULES = {"sqlite3", "psycopg", "click", "os", "subprocess", "socket", "shutil",
              "eventsourcing", "io", "tempfile", "pathlib"}


def modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules()


def imports_of(name: str) -> Iterator[str]:
    """Every module ``name`` imports, absolute; package-level names resolve to modules."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                yield candidate if candidate in MODULES else module


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_lives_in_a_layer_package() -> None:
    loose = sorted(m for m in MODULES if m != PACKAGE and layer(m) is None)
    assert loose == [], f"modules outside the layer packages {sorted(LAYERS)}: {loose}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_inward(name: str) -> None:
    own = layer(name)
    if own is None:
        return
    allowed = LAYERS[own] | {own}
    for target in imports_of(name):
        top = target.split(".")[0]
        if top == PACKAGE:
            theirs = layer(target)
            if (name, target) in KNOWN_UPWARD:
                continue
            assert theirs is None or theirs in allowed, (
                f"{name} ({own}) imports {target} ({theirs}): {own} may import only "
                f"{sorted(allowed)}")
        elif own == "domain":
            assert top not in IO_MODULES, f"{name}: the domain imports {target} (I/O)"


def test_no_module_imports_itself_round_a_cycle() -> None:
    graph = {m: {t for t in imports_of(m) if t in MODULES and t != m} for m in MODULES}
    # A package's __init__ re-exporting its modules is not a cycle of behaviour.
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        seen[m] = 1
        path.append(m)
        for t in sorted(graph[m]):
            if seen.get(t) == 1:
                cycle = [*path[path.index(t):], t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in seen:
                visit(t)
        path.pop()
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m)


def test_every_known_upward_edge_still_exists() -> None:
    """An edge that is gone must leave KNOWN_UPWARD too, so the list only shrinks."""
    for name, target in sorted(KNOWN_UPWARD):
        assert target in set(imports_of(name)), f"{name} no longer imports {target}"


def test_the_rule_catches_a_domain_module_importing_storage(tmp_path: Path) -> None:
    """The walk sees a deferred import inside a function as well as a top-level one."""
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    from ..storage import store\n", encoding="utf-8")
    MODULES["outcomeledger.domain.probe"] = module
    try:
        assert "outcomeledger.storage.store" in set(imports_of("outcomeledger.domain.probe"))
        with pytest.raises(AssertionError, match="domain may import only"):
            test_imports_point_inward("outcomeledger.domain.probe")
    finally:
        del MODULES["outcomeledger.domain.probe"]
