"""Do two builds of the book glue the same numbers? (A restructuring must not change what the book says.)

    .venv/bin/python scripts/compare_glue.py OLD/book/_executed NEW/book/_executed [--out report.json]

Reads every executed notebook in both folders and compares their glued values (MyST-NB glue: the text form
of each value) name by name. Prints one line per notebook: same / which names differ (old -> new) / names
only in one build; exits 1 when any value shared by both differs. Values that are meant to change between
builds (timings, dates, commits, the machine) are listed in ``VOLATILE`` and reported apart.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

# per build, not per result: wall times, dates and commits, the machine and environment it ran on
VOLATILE = re.compile(r"(seconds|minutes|_s$|time|date|commit|machine|device|python|version|built|host|"
                      r"git_|load|cpu|memory)", re.IGNORECASE)


def glued_text(path: Path) -> dict[str, str]:
    """name -> text/plain of each value glued in an executed notebook."""
    nb = json.loads(path.read_text())
    out = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook", {})
            if meta.get("name"):
                prefix = meta.get("mime_prefix", "")
                data = {k.removeprefix(prefix): v for k, v in output.get("data", {}).items()}
                text = data.get("text/plain", "")
                out[meta["name"]] = "".join(text) if isinstance(text, list) else str(text)
    return out


def compare(old_dir: Path, new_dir: Path) -> dict:
    report = {}
    def notebooks(folder: Path) -> set[str]:  # not the hidden files of an execution still running
        return {p.name for p in folder.glob("*.ipynb") if not p.name.startswith(".")}

    names = sorted(notebooks(old_dir) | notebooks(new_dir))
    for name in names:
        old_path, new_path = old_dir / name, new_dir / name
        if not old_path.exists() or not new_path.exists():
            report[name] = {"only_in": "new" if new_path.exists() else "old"}
            continue
        old, new = glued_text(old_path), glued_text(new_path)
        shared = sorted(set(old) & set(new))
        changed = {k: [old[k], new[k]] for k in shared if old[k] != new[k]}
        report[name] = {
            "compared": len(shared),
            "differ": {k: v for k, v in changed.items() if not VOLATILE.search(k)},
            "volatile_differ": sorted(k for k in changed if VOLATILE.search(k)),
            "only_old": sorted(set(old) - set(new)), "only_new": sorted(set(new) - set(old)),
        }
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    report = compare(args.old, args.new)
    n_differ = 0
    for name, r in report.items():
        if "only_in" in r:
            print(f"{name}: only in the {r['only_in']} build")
            continue
        n_differ += len(r["differ"])
        verdict = "same" if not r["differ"] else f"{len(r['differ'])} differ"
        extra = [f"+{len(r['only_new'])} new" if r["only_new"] else "",
                 f"-{len(r['only_old'])} gone" if r["only_old"] else "",
                 f"{len(r['volatile_differ'])} per-build values differ" if r["volatile_differ"] else ""]
        print(f"{name}: {r['compared']} glued values compared, {verdict}"
              + "".join(f"; {e}" for e in extra if e))
        for key, (old, new) in r["differ"].items():
            print(f"    {key}: {old[:60]} -> {new[:60]}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 1 if n_differ else 0


if __name__ == "__main__":
    sys.exit(main())
