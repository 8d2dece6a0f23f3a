"""The layer contracts of ARCHITECTURE.md as code: an import graph read from the source (ast, nothing imported).

`ImportGraph.read(root)` parses every module under ``root/slabproof`` and records each import with its
line and kind: ``module`` (runs when the module is imported), ``lazy`` (inside a function or class body:
runs when that code runs) or ``type`` (under ``if TYPE_CHECKING:``: never runs). Each contract function
takes a graph and returns its violations as one line each (``file:line: what``); an empty list means the
contract holds. tests/test_architecture.py runs them on the tree, tests/test_planted_architecture.py on a
copy with a forbidden import planted, to show that each one can fail.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import networkx as nx

PKG = "slabproof"

# the engines: each decides properties on its own; none may import another
ENGINES = ("slabproof.checker", "slabproof.z3.bmc", "slabproof.z3.induction", "slabproof.z3.param",
           "slabproof.z3.recheck")
# shared Z3 infrastructure (the encodings, the Houdini fixpoint): used by the Z3 engines, not an engine
# itself; it may import no engine
Z3_SHARED = ("slabproof.z3.symbolic", "slabproof.z3.houdini")
# the model: what the kernel does, stated once
MODEL = ("slabproof.model", "slabproof.lang")
# what running an engine means: the runner and the modules that drive engines through it
RUNNERS = ("slabproof.run.runner", "slabproof.run.explain", "slabproof.run.ipis", "slabproof.run.mutants")
REPORTS = ("slabproof.report",)
# the only modules that may print: the CLI (and its entry point, which reports an interrupt that arrives
# before cli.py is imported), and the pytest plugin, which reports through pytest
PRINTERS = ("slabproof.cli", "slabproof.__main__", "slabproof.pytest_plugin")
# the data every layer imports
RESULTS = "slabproof.results"

# Known import cycles through a lazy (function-level) import, each named by the edge that closes it.
# model.build translates a spec's [[property]] tables with lang.propexpr, which takes the model's names
# (NONE, NULL, STATUS_NAMES, Property) from model: the import in build() keeps it out of import time.
KNOWN_LAZY_CYCLE_EDGES = frozenset({("slabproof.model", "slabproof.lang.propexpr")})


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name, e.g. slabproof.lang.spec
    target: str  # dotted name imported: a module of the package, or an outside one (z3, networkx.drawing)
    path: str  # the importer's file, relative to the root
    line: int
    kind: str  # "module", "lazy" or "type"

    @property
    def top(self) -> str:
        return self.target.split(".")[0]

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def within(name: str, prefixes: Iterable[str]) -> bool:
    """True if dotted `name` is one of `prefixes` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class ImportGraph:
    """Every import of every module under ``root/slabproof``, and the package's modules."""

    def __init__(self, root: Path, modules: dict[str, Path], imports: list[Import],
                 trees: dict[str, ast.Module]) -> None:
        self.root = root
        self.modules = modules
        self.imports = imports
        self.trees = trees

    @classmethod
    def read(cls, root: Path) -> "ImportGraph":
        modules: dict[str, Path] = {}
        for f in sorted((root / PKG).rglob("*.py")):
            modules[_module_name(f.relative_to(root))] = f
        imports: list[Import] = []
        trees: dict[str, ast.Module] = {}
        for name, f in modules.items():
            tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
            trees[name] = tree
            is_pkg = f.name == "__init__.py"
            rel = str(f.relative_to(root))
            imports.extend(_imports_of(tree, name, is_pkg, rel, modules))
        return cls(root, modules, imports, trees)

    def internal(self, runtime_only: bool = True) -> list[Import]:
        return [i for i in self.imports if i.target in self.modules and not (runtime_only and i.kind == "type")]

    def digraph(self, kinds: tuple[str, ...] = ("module", "lazy")) -> nx.DiGraph:
        """Modules as nodes; an edge for each import of the given kinds, and from every module to the packages
        that contain it (importing slabproof.lang.expr runs slabproof/lang/__init__.py)."""
        g = nx.DiGraph()
        g.add_nodes_from(self.modules)
        for i in self.internal(runtime_only=False):
            if i.kind in kinds:
                g.add_edge(i.importer, i.target, line=i.line, path=i.path)
                parts = i.target.split(".")
                for k in range(1, len(parts)):
                    parent = ".".join(parts[:k])
                    if parent in self.modules and parent != i.importer:
                        g.add_edge(i.importer, parent, line=i.line, path=i.path)
        return g


def _imports_of(tree: ast.Module, name: str, is_pkg: bool, rel: str, modules: dict[str, Path]) -> list[Import]:
    out: list[Import] = []
    package = name if is_pkg else name.rpartition(".")[0]

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            k = kind
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)) and k == "module":
                k = "lazy"
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.body:
                    visit_one(sub, "type")
                for sub in child.orelse:
                    visit_one(sub, k)
                continue
            visit_one(child, k)

    def visit_one(child: ast.AST, kind: str) -> None:
        if isinstance(child, ast.Import):
            for a in child.names:
                out.append(Import(name, a.name, rel, child.lineno, kind))
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = package.split(".")
                if child.level > 1:
                    base = base[: -(child.level - 1)]
                mod = ".".join(base + ([child.module] if child.module else []))
            else:
                mod = child.module or ""
            for a in child.names:
                sub = f"{mod}.{a.name}"
                out.append(Import(name, sub if sub in modules else mod, rel, child.lineno, kind))
        visit(child, kind)

    visit(tree, "module")
    return out


# ---------------------------------------------------------------------------
# the contracts


def engines_independent(g: ImportGraph) -> list[str]:
    """No engine imports another engine, directly or through other modules (import-time or lazy imports);
    the shared Z3 infrastructure imports no engine."""
    dg = g.digraph()
    bad: list[str] = []
    for src in ENGINES + Z3_SHARED:
        if src not in dg:
            continue
        reach = nx.descendants(dg, src)
        for dst in ENGINES:
            if dst != src and dst in reach:
                bad.append(f"{_first_hop(g, dg, src, dst)}: {src} reaches engine {dst} "
                           f"({' -> '.join(nx.shortest_path(dg, src, dst))})")
    return bad


def model_pure(g: ImportGraph) -> list[str]:
    """The model (model.py, lang/) imports neither z3 nor networkx, nor any engine, runner, report or CLI
    module, directly or through other modules."""
    dg = g.digraph()
    forbidden_pkgs = ("slabproof.z3", "slabproof.checker", "slabproof.run", "slabproof.report", "slabproof.cli",
                      "slabproof.pytest_plugin")
    model_mods = [m for m in g.modules if within(m, MODEL)]
    closure = set(model_mods)
    for m in model_mods:
        closure |= nx.descendants(dg, m)
    bad: list[str] = []
    for i in g.imports:
        if i.kind == "type" or i.importer not in closure:
            continue
        if i.top in ("z3", "networkx"):
            bad.append(f"{i.where()}: {i.importer} (the model, or a module it imports) imports {i.target}")
    for m in sorted(closure):
        if within(m, forbidden_pkgs):
            src = next(s for s in model_mods if s == m or m in nx.descendants(dg, s))
            path = nx.shortest_path(dg, src, m)
            bad.append(f"{_first_hop(g, dg, path[0], path[1]) if len(path) > 1 else m}: the model reaches {m} "
                       f"({' -> '.join(path)})")
    return bad


def reports_run_nothing(g: ImportGraph) -> list[str]:
    """No report module (report/) imports an engine, the Z3 infrastructure or a runner, directly or through
    other modules: reports show results, they never re-derive them."""
    dg = g.digraph()
    bad: list[str] = []
    for src in sorted(m for m in g.modules if within(m, REPORTS)):
        for dst in sorted(nx.descendants(dg, src)):
            if within(dst, ENGINES + Z3_SHARED + RUNNERS):
                path = nx.shortest_path(dg, src, dst)
                bad.append(f"{_first_hop(g, dg, path[0], path[1])}: {src} reaches {dst} ({' -> '.join(path)})")
    return bad


def results_standalone(g: ImportGraph) -> list[str]:
    """results.py (the data every layer imports) imports no other module of the package."""
    return [f"{i.where()}: {i.importer} imports {i.target}" for i in g.imports
            if i.importer == RESULTS and i.top == PKG]


def no_cycles(g: ImportGraph) -> list[str]:
    """No import cycle among import-time imports; through lazy imports, none but the known ones."""
    bad: list[str] = []
    module_dg = g.digraph(("module",))
    seen: set[frozenset[tuple[str, str]]] = set()
    for dg, what in ((module_dg, "import-time cycle"), (g.digraph(), "cycle through a lazy import")):
        for cyc in nx.simple_cycles(dg):
            edges = list(zip(cyc, cyc[1:] + cyc[:1]))
            key = frozenset(edges)
            if key in seen or (dg is not module_dg and set(edges) & KNOWN_LAZY_CYCLE_EDGES):
                continue
            seen.add(key)
            hops = ", ".join(f"{a} -> {b} ({_first_hop(g, dg, a, b)})" for a, b in edges)
            bad.append(f"{what}: {hops}")
    return bad


def only_cli_prints(g: ImportGraph) -> list[str]:
    """Only the CLI (cli.py, __main__.py) and the pytest plugin print: no print(), no ``.print(...)``
    (rich's Console.print, rich.print), no sys.stdout/sys.stderr ``.write`` elsewhere."""
    bad: list[str] = []
    for name, tree in g.trees.items():
        if within(name, PRINTERS):
            continue
        rel = g.modules[name].relative_to(g.root)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            what = None
            if isinstance(f, ast.Name) and f.id in ("print", "pprint"):
                what = f"{f.id}()"
            elif isinstance(f, ast.Attribute) and f.attr in ("print", "print_json", "log"):
                what = f".{f.attr}()"
            elif (isinstance(f, ast.Attribute) and f.attr in ("write", "writelines")
                  and isinstance(f.value, ast.Attribute) and f.value.attr in ("stdout", "stderr")):
                what = f"{f.value.attr}.{f.attr}()"
            if what:
                bad.append(f"{rel}:{node.lineno}: {name} calls {what}")
    return bad


def _first_hop(g: ImportGraph, dg: nx.DiGraph, src: str, nxt: str) -> str:
    if dg.has_edge(src, nxt):
        d = dg.edges[src, nxt]
        return f"{d['path']}:{d['line']}"
    return str(g.modules[src].relative_to(g.root))


CONTRACTS = {
    "engines never import each other": engines_independent,
    "the model imports neither z3 nor networkx nor an engine, runner or report": model_pure,
    "reports import no engine and no runner": reports_run_nothing,
    "results.py imports no other slabproof module": results_standalone,
    "no import cycles": no_cycles,
    "only the CLI prints": only_cli_prints,
}
