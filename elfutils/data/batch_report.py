"""Run one function over many inputs: bad ones are skipped with a reason, never silently lost."""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from elfutils.io import atomic_write_text


@dataclass
class BatchReport:
    """What a batch did: results in input order, and what it skipped with the reason."""

    results: list = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """Non-zero only when nothing could be processed."""
        return 0 if self.results or not self.skipped else 1

    def write_skipped(self, path: str | Path) -> None:
        """Write the skipped inputs (item, reason) as CSV, atomically; a symbolic link at ``path`` is refused
        (elfutils.io.WriteError), never written through."""
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(["item", "reason"])
        writer.writerows(self.skipped)
        atomic_write_text(Path(path), text.getvalue())

    def print_skipped(self, stream=None) -> None:
        stream = stream or sys.stderr
        if self.skipped:
            print(f"skipped {len(self.skipped)} input(s):", file=stream)
            for item, reason in self.skipped:
                print(f"  {item}: {reason}", file=stream)
