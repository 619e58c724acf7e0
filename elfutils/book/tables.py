"""How the book shows numbers and tables to a reader: :func:`number_text` for a value in prose,
:func:`readable` for a table whose missing cells read :data:`MISSING_CELL` instead of NaN, None or <NA>."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING_CELL = "–"  # how a table of the book shows a missing value (pandas would print NaN, None, NaT, <NA>)


def number_text(value, fmt: str = ".3g", missing: str = "undefined") -> str:
    """``value`` formatted for the book's text; ``missing`` for None or NaN (e.g. DBCV with < 2 clusters, or
    a grid point the study lacks)."""
    if value is None:
        return missing
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return missing if not np.isfinite(number) else format(number, fmt)


@dataclass(frozen=True)
class ReadableTable:
    """A table as a chapter shows it (:func:`readable`): pandas's own HTML and text, missing cells as
    :data:`MISSING_CELL`. ``frame`` is the table itself, for code that reads it."""

    frame: pd.DataFrame
    missing: str = MISSING_CELL

    def _repr_html_(self) -> str:
        return self.frame.to_html(na_rep=self.missing, notebook=True,
                                  max_rows=pd.get_option("display.max_rows"),
                                  max_cols=pd.get_option("display.max_columns"),
                                  show_dimensions=pd.get_option("display.show_dimensions") is True)

    def __repr__(self) -> str:
        return self.frame.to_string(na_rep=self.missing, max_rows=pd.get_option("display.max_rows"),
                                    min_rows=pd.get_option("display.min_rows"),
                                    max_cols=pd.get_option("display.max_columns"))

    def __len__(self) -> int:
        return len(self.frame)


def _filled(values: pd.Series, missing: str) -> pd.Series:
    """Missing values replaced by ``missing``; a float column keeps its numbers (pandas writes ``na_rep`` for
    its NaNs, in the column's number format), any other (None, NaT, <NA>) becomes text."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":
        return values
    na = values.isna()
    return values.astype(object).where(~na, missing) if na.any() else values


def readable(table: pd.DataFrame | pd.Series, missing: str = MISSING_CELL,
             drop_empty: bool = True) -> ReadableTable:
    """``table`` for display in the book: columns without any value left out (``drop_empty``), every other
    missing cell (NaN, None, NaT, <NA>, in the columns or the index) shown as ``missing``. For display only:
    compute with the table itself."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    if drop_empty and len(frame):
        frame = frame.loc[:, frame.notna().any(axis=0).to_numpy()]
    frame = frame.apply(_filled, missing=missing) if frame.shape[1] else frame
    if frame.index.to_frame().isna().any().any():
        names = list(frame.index.names)
        levels = frame.index.to_frame(index=False).astype(object)
        frame.index = pd.MultiIndex.from_frame(levels.where(levels.notna(), missing)) if len(names) > 1 else (
            pd.Index(levels.iloc[:, 0].where(levels.iloc[:, 0].notna(), missing), name=names[0]))
    return ReadableTable(frame, missing)
