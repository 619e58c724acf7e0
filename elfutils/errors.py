"""The project's one exception type for bad input."""

from __future__ import annotations

from pathlib import Path


class BandDataError(ValueError):
    """Bad band-structure input. The message names the file (when known) and the field or problem."""

    def __init__(self, problem: str, source: str | Path | None = None, field: str | None = None):
        self.problem = problem
        self.source = str(source) if source is not None else None
        self.field = field
        where = f"{self.source}: " if self.source else ""
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}{what}{problem}")


class NotebookError(RuntimeError):
    """A notebook that cannot be executed or failed while executing, or a built book that fails a check."""
