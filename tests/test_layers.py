"""The package's architecture: no import circles, no arrow back up the layer order.

Every import of a genmix module counts, function-level (lazy) ones included. A package ``__init__``
importing its own submodules and a submodule importing its parent package are not arrows (the same
analysis as the project's pre-stop hook).

Layers, top (rank 0) to bottom. An import may go to the same rank or a higher rank number only;
imports within one rank are allowed while they form no circle.

  rank 0  cli, __main__     the command line
  rank 1  experiment        config files -> the whole graph of units, reports
  rank 2  classify          classifier models, training loop
          audit             fidelity / memorisation audits (use classify's models)
          evaluate          metrics
          pretrain          pretrained models built from public data: the backbone trains a
                            classify model, the DDPM and text-to-image models use generate's fit loop
  rank 3  generate          generators: base (interface + @register) <- one module per method <-
                            the package (catalogue: load_all, build_generator) <- fit, synthesize
  rank 4  augment           mixing and synthetic pools
  rank 5  data              datasets, splits, manifests
          corpus            public pretraining corpora, source disjointness
          pretrained        what genmix-pretrained files record (backbone config, T2I corpus) and the
                            disjointness checks on them: shared by pretrain, classify and generate
  rank 6  checkpoint, io, errors, validation, device   leaves
          stats             bootstrap / paired tests / power for the experiment's reports (imports no genmix)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "genmix"

RANKS = {
    "cli": 0, "__main__": 0,
    "experiment": 1,
    "classify": 2, "audit": 2, "evaluate": 2, "pretrain": 2,
    "generate": 3,
    "augment": 4,
    "data": 5, "corpus": 5, "pretrained": 5,
    "checkpoint": 6, "io": 6, "errors": 6, "validation": 6, "device": 6, "stats": 6,
    "optim": 6, "precision": 6,
}


def modules() -> dict[str, Path]:
    mods = {}
    for f in (SRC / PACKAGE).rglob("*.py"):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def import_graph() -> tuple[dict[str, set[str]], dict[str, Path]]:
    mods = modules()
    graph = {m: set() for m in mods}
    for m, f in mods.items():
        pkg = m if f.name == "__init__.py" else m.rpartition(".")[0]
        for n in ast.walk(ast.parse(f.read_text())):
            names = []
            if isinstance(n, ast.ImportFrom):
                base = n.module or ""
                if n.level:
                    b = pkg.split(".")[: len(pkg.split(".")) - (n.level - 1)]
                    base = ".".join(b + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in n.names]
            elif isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            for x in names:
                if (x in mods and x != m and not (f.name == "__init__.py" and x.startswith(m + "."))
                        and not m.startswith(x + ".")):
                    graph[m].add(x)
    return graph, mods


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    idx, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        idx[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in idx:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))
    try:
        for v in graph:
            if v not in idx:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return out


def layer(module: str) -> str | None:
    """The top-level subpackage/module of ``genmix.x.y`` (``x``); None for the root package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_no_import_circles():
    graph, _ = import_graph()
    found = circles(graph)
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_every_module_has_a_layer():
    _, mods = import_graph()
    missing = sorted({layer(m) for m in mods if layer(m) is not None} - set(RANKS))
    assert not missing, f"give these top-level modules a rank in RANKS (tests/test_layers.py): {missing}"


def test_no_arrow_back_up():
    graph, _ = import_graph()
    upward = []
    for m, targets in sorted(graph.items()):
        a = layer(m)
        for x in sorted(targets):
            b = layer(x)
            if a is None or b is None or a == b:
                continue
            if RANKS[b] < RANKS[a]:
                upward.append(f"{m} (rank {RANKS[a]}) -> {x} (rank {RANKS[b]})")
    assert not upward, "imports going up the layer order:\n" + "\n".join(upward)


def test_no_private_names_across_modules():
    """``from genmix.x import _name`` couples a module to another's internals: move the piece down instead."""
    _, mods = import_graph()
    found = []
    for m, f in sorted(mods.items()):
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").split(".")[0] == PACKAGE):
                found += [f"{m}: from {'.' * n.level}{n.module or ''} import {a.name}" for a in n.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_short_modules_and_functions():
    """Issue 31's house rule: no module in src/ over 400 lines, no function over 60 (split where a reader
    looks for things, not by the line count alone)."""
    long_modules, long_functions = [], []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(SRC)
        if text.count("\n") > 400:
            long_modules.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long_functions.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert not long_modules and not long_functions, "\n".join(long_modules + long_functions)
