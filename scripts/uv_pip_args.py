"""Print the `uv pip install` options that make uv install what pip would here: pip's own configuration.

`make venv` installs with uv (a fifth of pip's time on this 2-core machine) but must take the same packages
from the same places as pip: the find-links folders, the extra indexes and the constraints a machine sets
for pip (in pip.conf or PIP_* variables, e.g. the torch pair on local disk). pip resolves its configuration
itself; this reads it back with ``pip config list`` and turns each setting into uv's option, plus
``--index-strategy unsafe-best-match`` (pip takes the best version over all indexes; uv by default stops at
the first index that has a package).

    python scripts/uv_pip_args.py            # prints the options on one line
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

# pip setting -> uv option; each setting may hold several values separated by whitespace
OPTIONS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
           "constraint": "--constraint"}


def pip_config() -> dict[str, list[str]]:
    """pip's effective settings (``pip config list``: ``scope.name='value'`` lines), each value split on
    whitespace; a PIP_* variable (scope ``:env:``) wins over the files, as in pip."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                         check=False).stdout
    files: dict[str, list[str]] = {}
    env: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        scope, _, name = key.rpartition(".")
        (env if scope == ":env:" else files)[name] = " ".join(shlex.split(value)).split()
    return {**files, **env}


def uv_args(settings: dict[str, list[str]]) -> list[str]:
    args = ["--index-strategy", "unsafe-best-match"]
    for name, option in OPTIONS.items():
        for value in settings.get(name, []):
            args += [option, value]
    return args


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    print(shlex.join(uv_args(pip_config())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
