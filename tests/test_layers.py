"""The package's layering, read from the source with ``ast`` (every import, including those inside functions).

Data flows one way: data -> images -> nn -> analysis, with dft beside data and the book's machinery on top.
The library never imports the book layer, and no module imports another in a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "elfutils"

# layer -> the layers it may import (besides itself and the foundation modules at the top of the package)
ALLOWED = {
    "data": set(),
    "images": {"data"},
    "dft": {"data", "images"},
    "nn": {"data", "images"},
    "analysis": {"data", "images", "nn"},
    "book": {"data", "images", "dft", "nn", "analysis"},
    "commands": {"data", "images", "dft", "nn", "analysis", "book"},
}
FOUNDATION = {"elfutils", "elfutils.constants", "elfutils.choices", "elfutils.errors", "elfutils.io",
              "elfutils.paths"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The elfutils modules ``path`` imports anywhere in its source (``from elfutils.x import y`` counts
    ``elfutils.x.y`` when that is a module, else ``elfutils.x``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("elfutils")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("elfutils"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in known else node.module)
    return out & known


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: imported_modules(path, known) - {name} for name, path in files.items()}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in ALLOWED else None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep):], dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_module_is_in_a_layer_or_the_foundation():
    loose = [m for m in import_graph() if layer_of(m) is None and m not in FOUNDATION
             and m not in {f"elfutils.{layer}" for layer in ALLOWED} and m != "elfutils.cli"]
    assert not loose, f"modules outside every layer: {loose}"


def test_arrows_point_down_the_flow():
    upward = []
    for module, deps in import_graph().items():
        layer = layer_of(module)
        if layer is None:
            continue
        for dep in deps:
            dep_layer = layer_of(dep)
            if dep_layer is not None and dep_layer != layer and dep_layer not in ALLOWED[layer]:
                upward.append(f"{module} -> {dep}")
    assert not upward, "imports against the layering:\n" + "\n".join(sorted(upward))


def test_the_library_never_imports_the_book():
    library = {"data", "images", "dft", "nn", "analysis"}
    offenders = [f"{m} -> {d}" for m, deps in import_graph().items() if layer_of(m) in library
                 for d in deps if layer_of(d) in {"book", "commands"}]
    foundation = [f"{m} -> {d}" for m in FOUNDATION for d in import_graph().get(m, ()) if d not in FOUNDATION]
    assert not offenders and not foundation, offenders + foundation


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_checks_themselves_catch_a_cycle_and_an_upward_import():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("elfutils.data.store") == "data" and layer_of("elfutils.constants") is None
    with pytest.raises(KeyError):
        ALLOWED["nowhere"]
    assert "book" not in ALLOWED["analysis"]


# Figures drawn as input data, not for a reader: the figure study's test figures in each plotting style.
FIGURES_AS_DATA = {"elfutils.analysis.figure_styles"}


def draws_figures(path: Path) -> list[str]:
    """What in ``path`` makes a figure for a reader: functions named plot_*, and calls that open a figure
    (``subplots``, ``plt.figure``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("plot_"):
            found.append(f"def {node.name}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and (node.func.attr == "subplots" or (node.func.attr == "figure"
                                                    and getattr(node.func.value, "id", "") == "plt"))):
            found.append(f"{node.func.attr}() at line {node.lineno}")
    return found


def test_figures_are_drawn_only_in_plot_modules():
    """One rule for where plotting lives: the book's figures in elfutils/book/plots/, a library layer's in its
    module named plot (images.plot, nn.plot, dft.plot); nowhere else."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name.startswith("elfutils.book.plots") or name.endswith(".plot") or name in FIGURES_AS_DATA:
            continue
        if found := draws_figures(path):
            offenders[name] = found
    assert not offenders, offenders


def test_the_stages_live_in_their_rooms():
    """Each stage family is a module of elfutils/book/stages/; pipeline.py only re-exports them (it defines no
    function or class of its own), so "where is the fingerprints stage" has one answer."""
    pipeline = PACKAGE / "book" / "pipeline.py"
    defined = [node.name for node in ast.parse(pipeline.read_text(encoding="utf-8")).body
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    assert not defined, f"pipeline.py defines {defined}: put them in their stage module"
    stages = {p.stem for p in (PACKAGE / "book" / "stages").glob("*.py")} - {"__init__"}
    assert {"dataset", "images", "model", "fingerprints", "clustering"} <= stages
