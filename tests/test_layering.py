"""The import rules: a Qt-free core, a torch-free UI, and a window that opens without torch.

The AST scan reads the source, so it also catches imports in code the tests never run; the
subprocess test catches what a scan cannot see: an import chain through another module.
Imports under ``if TYPE_CHECKING:`` are for annotations only and never run, so they are skipped.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "alexnet_gui"
HEAVY = ("torch", "torchvision", "cv2")
QT = ("PyQt5", "PyQt6", "PySide2", "PySide6")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, *, module_level_only: bool) -> set[str]:
    """Absolute names imported by ``path`` (relative imports resolved inside the package)."""
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if module_level_only and nested:
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                found.update(_from_names(child, path))
            visit(child, nested)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _from_names(node: ast.ImportFrom, path: Path) -> set[str]:
    if node.level:
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[: -node.level]
        base = ".".join([*parts, node.module] if node.module else parts)
    else:
        base = node.module or ""
    return {base} | {f"{base}.{alias.name}" for alias in node.names}


def _matches(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


@cache
def heavy_core_modules() -> tuple[str, ...]:
    """Core modules that import torch, torchvision or cv2 when imported (directly or via core)."""
    module_imports = {
        _module_name(path): imports(path, module_level_only=True)
        for path in (PACKAGE / "core").rglob("*.py")
    }
    heavy = {m for m, names in module_imports.items() if any(_matches(n, HEAVY) for n in names)}
    changed = True
    while changed:
        changed = False
        for module, names in module_imports.items():
            if module not in heavy and any(_matches(n, tuple(heavy)) for n in names):
                heavy.add(module)
                changed = True
    return tuple(sorted(heavy))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_path(name: str) -> Path | None:
    """The file of a module of the package, or None (a name imported *from* a module)."""
    if not name.startswith("alexnet_gui."):
        return None
    relative = Path(*name.split(".")[1:])
    for candidate in (PACKAGE / relative.with_suffix(".py"), PACKAGE / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def startup_modules() -> list[Path]:
    """Every module of the package that importing ``alexnet_gui.app`` imports: found by
    following module-level imports, so a new worker joins the check without being listed."""
    seen: dict[Path, None] = {}
    todo = [PACKAGE / "app.py"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = None
        for name in imports(path, module_level_only=True):
            found = _module_path(name)
            parents = [_module_path(".".join(name.split(".")[:i]))
                       for i in range(2, name.count(".") + 1)]
            todo.extend(p for p in (found, *parents) if p is not None and p not in seen)
    return sorted(seen)


def python_files(folder: str) -> list[Path]:
    """Every module of a layer, sub-packages (core/engines) included."""
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("core"), ids=lambda p: p.name)
def test_core_never_imports_qt(path):
    bad = sorted(n for n in imports(path, module_level_only=False) if _matches(n, QT))
    assert not bad, f"{path.name} imports Qt: {bad}"


@pytest.mark.parametrize("path", python_files("ui"), ids=lambda p: p.name)
def test_ui_never_imports_torch_cv2_or_the_workers(path):
    names = imports(path, module_level_only=False)
    forbidden = (*HEAVY, *heavy_core_modules())
    bad = sorted(n for n in names if _matches(n, forbidden))
    bad += sorted(n for n in names if _matches(n, ("alexnet_gui.workers",))
                  and not _matches(n, ("alexnet_gui.messages",)))
    assert not bad, f"{path.name} imports {bad}"


def test_the_heavy_core_modules_are_recognised():
    heavy = heavy_core_modules()
    assert {"alexnet_gui.core.inference.classifier",
            "alexnet_gui.core.models.weights"} <= set(heavy)
    assert "alexnet_gui.core.results" not in heavy and "alexnet_gui.core.errors" not in heavy


@pytest.mark.parametrize(
    "path", startup_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_startup_modules_import_torch_only_inside_functions(path):
    bad = sorted(
        n for n in imports(path, module_level_only=True)
        if _matches(n, (*HEAVY, *heavy_core_modules()))
    )
    assert not bad, f"{path.name} imports at module level: {bad}"


def test_window_shown_without_torch(tmp_path):
    """Build and show the real main window in a fresh interpreter: torch stays unimported."""
    code = """
import sys
import alexnet_gui.cli
from alexnet_gui.app import build_gui, create_application
from alexnet_gui.settings import open_store
app = create_application()
gui = build_gui(store=open_store(sys.argv[1]))
gui.window.show()
app.processEvents()
gui.browse.paste()
print("LOADED", sorted(m for m in ("torch", "torchvision", "cv2") if m in sys.modules))
gui.window.close()
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.ini")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout


def _package_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _internal_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports, at any depth (``from x import y`` counts x.y
    when y is a module, else x)."""
    found = set()
    for name in imports(path, module_level_only=False):
        if name in modules:
            found.add(name)
    return found


def test_no_import_circles():
    """Not even through imports inside functions; ``if TYPE_CHECKING:`` blocks do not count."""
    modules = _package_modules()
    graph = {name: _internal_imports(path, modules) - {name} for name, path in modules.items()}
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            cycles.append([*stack[stack.index(node):], node])
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            if not nxt.startswith(node + "."):  # a package importing its own modules is no circle
                visit(nxt, [*stack, node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", python_files("ui"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_feature_controllers_never_see_the_window(path):
    """Only the window's own module names it; features get the session and their widgets."""
    if path.name == "main_window.py":
        return
    names = imports(path, module_level_only=False)
    assert "alexnet_gui.ui.main_window" not in names, f"{path.name} imports the main window"


def test_the_startup_scan_follows_the_app_into_its_workers():
    names = {p.relative_to(PACKAGE).as_posix() for p in startup_modules()}
    assert {"app.py", "workers/inference_worker.py", "workers/explain_job.py",
            "workers/teach_worker.py", "workers/unit_jobs.py", "ui/main_window.py"} <= names
