"""The import contract: the rings of DESIGN.md, read from the code's own imports.

Inner rings know nothing of the outer ones: `domain/` imports only itself; `ledger/` the domain; `policy/` the
domain and the ledger; `services/` reach the store only through `services.ports` and import no database, web
or CLI library; `store/` implements those ports and knows no adapter. No module imports itself back through
a chain of others.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
FRAMEWORKS = ("sqlalchemy", "alembic", "fastapi", "starlette", "pydantic", "typer", "httpx", "uvicorn", "psycopg")
ADAPTERS = ("yibao.api", "yibao.web", "yibao.cli", "yibao.jobs", "yibao.bootstrap", "yibao.simulators")

# ring: (yibao packages it may import, whether it may import frameworks)
RINGS = {
    "yibao.domain": (("yibao.domain",), False),
    "yibao.ledger": (("yibao.domain", "yibao.ledger"), False),
    "yibao.policy": (("yibao.domain", "yibao.ledger", "yibao.policy"), False),
    "yibao.services": (("yibao.domain", "yibao.ledger", "yibao.policy", "yibao.services", "yibao.config"), False),
    "yibao.store": (("yibao.domain", "yibao.ledger", "yibao.policy", "yibao.services.ports", "yibao.store",
                     "yibao.config"), True),
    # an adapter ring: reads an export or the database through DuckDB, hands findings to the services
    "yibao.analytics": (("yibao.domain", "yibao.ledger", "yibao.policy", "yibao.services", "yibao.analytics",
                         "yibao.config"), False),
}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_only(tree: ast.AST) -> set[int]:
    """The ids of import nodes under `if TYPE_CHECKING:`: names for annotations, no arrow at run time."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)}
    return guarded


def _imports(path: Path, module: str, modules) -> tuple[set[str], set[str]]:
    """The modules (or, outside yibao, the top-level packages) a file imports, and those imported for types only."""
    found, typing_only = set(), set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = _type_only(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules  # `from pkg import module`
            names = submodules or {base}
        else:
            continue
        names = {n if n.startswith("yibao") else n.split(".")[0] for n in names}
        (typing_only if id(node) in guarded else found).update(names)
    return found, typing_only - found


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules = {_module(p): p for p in (SRC / "yibao").rglob("*.py")}
    graph, typing = {}, {}
    for name, path in modules.items():
        graph[name], typing[name] = _imports(path, name, set(modules))
    return graph, typing


GRAPH, TYPING = _graph()


def _ring(module: str) -> str | None:
    return next((r for r in RINGS if module == r or module.startswith(r + ".")), None)


def _within(module: str, packages) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _breaks() -> set[tuple[str, str]]:
    found = set()
    for module in GRAPH:
        imported = GRAPH[module] | TYPING[module]
        ring = _ring(module)
        if ring is None:
            continue
        allowed, frameworks = RINGS[ring]
        for target in imported:
            if target.startswith("yibao"):
                if not _within(target, allowed):
                    found.add((module, target))
            elif not frameworks and target.split(".")[0] in FRAMEWORKS:
                found.add((module, target))
    return found


def test_no_inner_ring_imports_an_outer_one():
    broken = sorted(_breaks())
    assert not broken, "imports against the rings:\n" + "\n".join(f"  {a} → {b}" for a, b in broken)


def test_no_adapter_is_imported_by_the_rings():
    for module, imported in GRAPH.items():
        if _ring(module):
            assert not [t for t in imported if _within(t, ADAPTERS)], module


def _cycles() -> list[list[str]]:
    internal = {m: {t for t in ts if t in GRAPH and t != m} for m, ts in GRAPH.items()}
    # a package's __init__ is where its modules are named, not an arrow back
    internal = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in internal.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in internal[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in internal:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert not _cycles(), "import cycles:\n" + "\n".join("  " + " → ".join(c) for c in _cycles())


# adapters reach the store only to migrate it (the CLI) and to wire it (bootstrap); the rest goes through services
STORE_DOORS = {"yibao.cli.main": {"yibao.store.migrate"}, "yibao.bootstrap": {"yibao.store.db", "yibao.store.mapping",
                                                                              "yibao.store.uow"}}
def test_adapters_reach_the_store_through_the_services():
    found = {(m, t) for m in GRAPH if _within(m, ADAPTERS) for t in GRAPH[m] | TYPING[m]
             if _within(t, ("yibao.store",)) and t not in STORE_DOORS.get(m, set())}
    assert not found, sorted(found)


@pytest.mark.parametrize("ring", sorted(RINGS))
def test_each_ring_has_modules(ring):
    assert any(m == ring or m.startswith(ring + ".") for m in GRAPH)


def _session_reads(path: Path) -> list[int]:
    """The lines reaching a unit of work's database session: `uow.session`, `ctx.uow().session`, `….session.x`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "session"):
            continue
        base, parent = node.value, parents.get(id(node))
        on_a_unit_of_work = isinstance(base, ast.Call) or (
            isinstance(base, ast.Name) and ("uow" in base.id or "unit_of_work" in base.id))
        if on_a_unit_of_work or isinstance(parent, ast.Attribute):
            found.append(node.lineno)
    return found


def test_only_the_store_touches_the_session_of_a_unit_of_work():
    outside = [p for p in (SRC / "yibao").rglob("*.py") if not _within(_module(p), ("yibao.store",))]
    outside += sorted((SRC.parent / "bench").rglob("*.py"))
    found = {str(p.relative_to(SRC.parent)): lines for p in outside if (lines := _session_reads(p))}
    assert not found, found
