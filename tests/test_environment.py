"""environment.yml (conda users) and pyproject.toml list the same dependencies."""

import re
import tomllib

import yaml

from elfutils.paths import PROJECT_ROOT


def _name_spec(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_name_spec(r) for r in project["dependencies"])
    for extra in ("book", "test", "dft"):
        wanted.update(_name_spec(r) for r in project["optional-dependencies"][extra])
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                if not pip_dep.startswith("-"):
                    name, spec = _name_spec(pip_dep)
                    have[name] = spec
        else:
            name, spec = _name_spec(dep)
            have[name] = spec.lstrip("=") if spec.startswith("=") and not spec.startswith("==") else spec
    have.pop("python", None)
    have.pop("pip", None)
    assert have == wanted, f"differ: only pyproject {set(wanted) - set(have)}, only environment.yml " \
        f"{set(have) - set(wanted)}, specs {[k for k in wanted if k in have and have[k] != wanted[k]]}"


# only the DFT batch computes with these; the book reads the stores it wrote (README: `make gpaw`)
DFT_ONLY = {"gpaw", "dask", "distributed"}


def _imports(path, todo: list, third: set) -> None:
    import ast

    for node in ast.walk(ast.parse(path.read_text())):  # function-level imports too: they run when called
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
        for name in names:
            (todo.append(name) if name.startswith("elfutils") else third.add(name.split(".")[0]))


def _installed_by(extras: tuple[str, ...]) -> set[str]:
    """Distributions that `pip install -e .[extras]` brings: the requirements and theirs, transitively."""
    import importlib.metadata as md

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    todo = [_name_spec(r)[0] for r in project["dependencies"]]
    todo += [_name_spec(r)[0] for e in extras for r in project["optional-dependencies"][e]]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [_name_spec(r)[0] for r in requires if "extra ==" not in r]
    return found


def test_the_book_imports_only_what_make_book_installs():
    """`make book` installs elfutils with the book and test extras, not the dft one: every package the
    notebooks and the library modules they use import (at any level) must come with those (a fresh clone's
    `make book` failed on the data chapter's `ase`, which only `make gpaw` installed)."""
    import importlib.metadata as md

    todo, third, seen = [], set(), set()
    for notebook in sorted((PROJECT_ROOT / "book").glob("*.py")):
        _imports(notebook, todo, third)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = PROJECT_ROOT / (module.replace(".", "/") + ".py")
        path = path if path.exists() else path.with_suffix("") / "__init__.py"
        if path.exists():
            _imports(path, todo, third)
    provided = {d.lower().replace("_", "-") for d in _installed_by(("book", "test"))}
    distributions = md.packages_distributions()
    missing = {name: distributions[name] for name in third - DFT_ONLY if name in distributions
               and not {d.lower().replace("_", "-") for d in distributions[name]} & provided}
    assert not missing, f"imported by the book's code but not installed by `make venv`: {missing}"
