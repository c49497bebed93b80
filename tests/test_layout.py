"""The layer contract of the package, checked on its source (in the spirit of import-linter).

The sub-packages follow the data flow, and every import goes down this list (a module
may import from its own layer and from any earlier one, at module level or inside a
function):

    base (errors, settings, results, fourier, operators, ...) -> nets -> theory, symbolic
    -> targets -> backends -> solvers -> measure -> checks -> output -> sweep -> cli

The package root (``__init__``) and the ``cbn.convex`` door re-export the public API and
may import anything; nothing imports them.  Private modules of a sub-package
(``nets/_engine.py``...) are imported only inside it.  Only ``backends/`` imports cvxpy
and scipy.optimize.  Every exception class lives in ``errors.py``.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cbntheory"
LAYERS = ("base", "nets", "theory", "targets", "backends", "solvers", "measure", "checks",
          "output", "sweep", "cli")
RANK = {**{name: i for i, name in enumerate(LAYERS)}, "symbolic": LAYERS.index("theory")}
FACADES = {"cbntheory", "cbntheory.convex"}
MAX_TOP_LEVEL = 12
BUILTIN_ERRORS = {"ValueError", "TypeError", "RuntimeError", "KeyError", "IndexError",
                  "OSError", "AssertionError", "NotImplementedError", "LookupError",
                  "ArithmeticError", "Exception"}


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 2 and parts[1] not in RANK:
        return RANK["base"]
    return RANK[parts[1]]


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in ``module``."""
    path, is_package = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    top |= {id(m) for n in tree.body if isinstance(n, ast.If) and not (
        isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING") for m in n.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((sub if sub in MODULES else target, node.lineno, id(node) in top))
    return out


def _internal_imports():
    for module in MODULES:
        for target, line, top in _imports(module):
            if target == "cbntheory" or target.startswith("cbntheory."):
                yield module, target, line, top


def test_imports_go_down_the_layers():
    bad = [f"{m}:{line} imports {t}" for m, t, line, _ in _internal_imports()
           if m not in FACADES and t not in FACADES and _layer(t) > _layer(m)]
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_package_root_or_the_facades():
    bad = [f"{m}:{line} imports {t}" for m, t, line, _ in _internal_imports()
           if m not in FACADES and t in FACADES]
    assert not bad, "\n".join(bad)


def test_private_modules_stay_inside_their_sub_package():
    bad = []
    for m, t, line, _ in _internal_imports():
        parts = t.split(".")
        if len(parts) > 2 and parts[-1].startswith("_") and not m.startswith(
                ".".join(parts[:-1])):
            bad.append(f"{m}:{line} imports {t}")
    assert not bad, "\n".join(bad)


def test_no_module_level_import_cycle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, t, _, top in _internal_imports():
        if top and t in MODULES and t != m:
            graph[m].add(t)
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def _third_party_importers(prefix: str) -> set[str]:
    return {m for m in MODULES for t, _, _ in _imports(m)
            if t == prefix or t.startswith(prefix + ".")}


def test_only_the_backends_import_cvxpy_and_scipy_optimize():
    for prefix in ("cvxpy", "scipy.optimize"):
        users = _third_party_importers(prefix)
        assert users and all(u.startswith("cbntheory.backends.") for u in users), (
            prefix, sorted(users))


def test_the_top_level_stays_small():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top


def _raises_and_classes():
    for module, (path, _) in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            yield module, node


def test_every_error_derives_from_the_package_base_and_lives_in_errors():
    bad = []
    for module, node in _raises_and_classes():
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            if isinstance(func, ast.Name) and func.id in BUILTIN_ERRORS:
                bad.append(f"{module}:{node.lineno} raises a bare {func.id}")
        if (isinstance(node, ast.ClassDef) and module != "cbntheory.errors"
                and not node.name.startswith("_")
                and any(isinstance(b, ast.Name) and (b.id.endswith("Error")
                        or b.id in BUILTIN_ERRORS) for b in node.bases)):
            bad.append(f"{module}:{node.lineno} defines {node.name} outside errors.py")
    assert not bad, "\n".join(bad)
