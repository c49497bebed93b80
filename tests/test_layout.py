"""House rules of the package layout: one door to cvxpy, one door to scipy.optimize."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cbntheory"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _importers(prefix: str) -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if any(n == prefix or n.startswith(prefix + ".") for n in _imports(path)):
            found.add(path.relative_to(PACKAGE).as_posix())
    return found


def test_only_the_conic_package_imports_cvxpy():
    users = _importers("cvxpy")
    assert users and all(u.startswith("conic/") for u in users), sorted(users)


def test_only_optim_imports_scipy_optimize():
    assert _importers("scipy.optimize") == {"optim.py"}
