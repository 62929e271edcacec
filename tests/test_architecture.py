"""The structure, as tests: no import cycle between modules (counting imports inside functions, which
lint-imports' contracts do not see), and the layer contracts of pyproject.toml hold."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent


def local_packages() -> list[str]:
    """The project's own apps (from INSTALLED_APPS), and config."""
    names = [c.name for c in apps.get_app_configs() if (ROOT / c.name).is_dir() and "." not in c.name]
    return sorted({*names, "config"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(packages: list[str]) -> dict[str, set[str]]:
    modules = {}
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in _imports(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _imports(tree: ast.AST):
    """Every import statement, at any depth, except those under `if TYPE_CHECKING:` (never executed)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _imports(node)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_built_from_every_app():
    packages = local_packages()
    assert {"distribution", "merchants", "distributors", "orders", "risk", "demo", "config"} <= set(packages)
    graph = import_graph(packages)
    assert "distributors.services.lifecycle" in graph["distributors.services.blacklist"]
    # an import inside a function counts: the cycle finder sees it
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_import_cycles_between_the_apps_modules():
    assert cycles(import_graph(local_packages())) == []


def test_no_import_cycles_in_the_bench_or_the_test_stubs():
    """The benchmarks (scripts that share data generators and a server launcher, importing one another
    inside functions too) and the provider stubs under tests/stubs keep the apps' rule."""
    graph = import_graph(["bench", "tests/stubs"])
    assert {"bench.fixtures", "bench.server"} <= graph["bench.ingest"]  # the graph sees them
    assert "tests.stubs.wechatpay.routes" in graph["tests.stubs.wechatpay.faults"]
    assert cycles(graph) == []


def deferred_imports_without_a_reason(packages: list[str]) -> list[str]:
    """`path:line` of each import inside a function (outside `if TYPE_CHECKING:`) with no comment on its
    line or on a comment line leading the run of imports it belongs to."""
    found = []
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            for function in ast.walk(ast.parse("\n".join(lines))):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for node in _imports(function):
                    if not _has_reason(lines, node.lineno - 1):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return sorted(set(found))


def _has_reason(lines: list[str], index: int) -> bool:
    while index >= 0:
        line = lines[index].strip()
        if "#" in line:
            return True
        if not (line.startswith(("from ", "import ")) or line == ""):
            return False
        index -= 1
    return False


def test_an_import_inside_a_function_says_why():
    """Imports go at the top of the module; where Django's loading order (or a heavy, optional dependency)
    needs one inside a function, a comment says so."""
    assert deferred_imports_without_a_reason(local_packages()) == []


def test_the_layer_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_models_and_the_migrations_agree(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_raw_sql_names_other_apps_tables_through_their_models():
    """A table of another app is spelled `Model._meta.db_table` (or looked up by model name), never as a
    literal: a renamed or moved model then cannot leave a query behind."""
    import re

    tables = {model._meta.db_table: model._meta.app_label for model in apps.get_models()}
    found = []
    for package in local_packages():
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            for table, owner in tables.items():
                if owner != package and "_" in table and re.search(rf"\b{table}\b", text):
                    found.append(f"{path.relative_to(ROOT)}: {table}")
    assert found == []
