"""The import graph of dlstudio/: no circles, and no streamlit (read from the source with ast;
nothing is imported). Imports inside functions count as much as those at the top of a module:
an import circle broken only by a late import still ties the two modules together."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dlstudio"


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages by __init__.py)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name ``module`` imports (relative imports resolved), anywhere in the file."""
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                # from .x import y: level 1 is this module's package (the module itself for a
                # package's __init__), each further level one package up
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the dlstudio modules it imports (a name resolves to its longest module prefix:
    ``from dlstudio.jobs.store import JobStore`` -> ``dlstudio.jobs.store``)."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in imported_names(module, path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete circle (a -> b -> ... -> a) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle_in(group, graph) for group in groups]


def _circle_in(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for target in sorted(graph[path[-1]] & group):
            if target == start:
                return [*path, start]
            if target not in path:
                paths.append([*path, target])
    raise AssertionError(f"no circle in {sorted(group)}")  # pragma: no cover - Tarjan found one


def test_no_module_of_dlstudio_imports_another_that_imports_it_back() -> None:
    modules = module_files()
    assert "dlstudio.cli" in modules and "dlstudio.jobs.store" in modules  # the walk found them

    cycles = import_cycles(import_graph(modules))

    assert not cycles, "import cycles in dlstudio/ (move the shared names to a lower module):\n" + (
        "\n".join(" -> ".join(cycle) for cycle in cycles)
    )


def test_the_cycle_check_finds_and_names_a_circle() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}

    assert import_cycles(graph) == [["p.a", "p.b", "p.c", "p.a"]]


def test_relative_and_late_imports_are_resolved(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("X = 1\n")
    (package / "sub" / "__init__.py").write_text("from . import mod\n")
    (package / "sub" / "mod.py").write_text(
        "def late():\n    from ..low import X\n    from . import other\n    return X\n"
    )
    (package / "sub" / "other.py").write_text("import pkg.sub.mod\n")

    graph = import_graph(module_files(package))

    assert graph["pkg.sub"] == {"pkg.sub.mod"}
    assert graph["pkg.sub.mod"] == {"pkg.low", "pkg.sub", "pkg.sub.other"}
    assert graph["pkg.sub.other"] == {"pkg.sub.mod"}
    assert import_cycles(graph) == [["pkg.sub", "pkg.sub.mod", "pkg.sub"]]


def test_no_module_of_dlstudio_imports_streamlit() -> None:
    offenders = {
        module: sorted(
            name for name in imported_names(module, path) if name.split(".")[0] == "streamlit"
        )
        for module, path in module_files().items()
    }

    assert not {module: names for module, names in offenders.items() if names}, (
        "only app.py and pages/ may import streamlit"
    )


HEAVY = ("torch", "mlflow", "streamlit", "ray")
ROOT = PACKAGE.parent


def _heavy_modules_after(code: str) -> str:
    """What of torch, MLflow, Streamlit and Ray a fresh interpreter has imported after ``code``."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-P", "-c", f"{code}; import sys; "
         f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    assert _heavy_modules_after("import dlstudio.cli") == "[]"


def test_the_help_of_every_command_loads_no_heavy_library() -> None:
    """``dlstudio --help`` builds the whole parser: it must not pull in the training stack."""
    assert (
        _heavy_modules_after("from dlstudio.cli.entry import build_parser; build_parser()") == "[]"
    )


def test_the_registry_records_and_never_asks_the_promotion_policy() -> None:
    """One way: promotion decides and calls the registry, which writes aliases and tags."""
    graph = import_graph(module_files())

    assert "dlstudio.tracking.registry" in graph["dlstudio.tracking.promotion"]
    assert "dlstudio.tracking.promotion" not in graph["dlstudio.tracking.registry"]
    writers = {
        module
        for module, path in module_files().items()
        if "_registered_model_alias(" in path.read_text(encoding="utf-8")
    }
    assert writers == {"dlstudio.tracking.registry"}
