"""The README's Python blocks, run exactly as printed from the repository root (a fresh clone's layout).

A block whose first line names it in :data:`RUN_ELSEWHERE` needs what this machine has not; its elfutils
imports are still checked, so that a renamed function breaks this test rather than a reader's cluster job.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_ELSEWHERE = {"# slurm_dft.py": "a SLURM scheduler and dask-jobqueue"}


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"),
                      flags=re.S | re.M)


def runnable_blocks() -> list[str]:
    return [b for b in python_blocks() if b.splitlines()[0] not in RUN_ELSEWHERE]


def test_the_readme_has_python_blocks_to_run():
    assert runnable_blocks(), "the README's Python example is gone"
    assert len(python_blocks()) == len(runnable_blocks()) + len(RUN_ELSEWHERE)


@pytest.mark.slow
@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda b: b.splitlines()[0][:40])
def test_a_readme_python_block_runs_as_printed(block):
    """Before: ``NameError: name 'table' is not defined`` (and a vasprun.xml that does not ship)."""
    out = subprocess.run([sys.executable, "-c", block], cwd=ROOT, capture_output=True, text=True,
                         timeout=900, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.returncode == 0, out.stderr[-3000:]
    if "find_similar" in block:
        assert "material_id" in out.stdout and "closer_pairs_percent" in out.stdout, out.stdout[-2000:]


@pytest.mark.parametrize("block", [b for b in python_blocks() if b.splitlines()[0] in RUN_ELSEWHERE],
                         ids=lambda b: b.splitlines()[0])
def test_a_block_that_runs_elsewhere_imports_what_exists(block):
    compile(block, "README.md", "exec")
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("elfutils"):
            exec(compile(ast.Module([node], type_ignores=[]), "README.md", "exec"), {})
