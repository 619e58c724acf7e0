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
