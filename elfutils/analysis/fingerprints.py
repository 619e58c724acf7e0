"""Fingerprint tables: one row per material, columns ``material_id``, ``formula``, ``f0`` .. ``f97``.

A table lives on disk as parquet (``.parquet``/``.pq``) or CSV (anything else). Everything downstream
(clustering, duplicates, similarity search) takes the table or the ``(N, 98)`` matrix from
:func:`fingerprint_matrix`, which is where bad rows are caught.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.constants import FINGERPRINT_LENGTH, SEED
from elfutils.io import atomic_write_via_path

ID_COLUMNS = ("material_id", "formula")
FEATURE_COLUMNS = tuple(f"f{i}" for i in range(FINGERPRINT_LENGTH))
_PARQUET_SUFFIXES = (".parquet", ".pq")


def feature_columns(df: pd.DataFrame) -> list[str]:
    """The ``f<i>`` columns of ``df`` in numeric order (``f0, f1, ..., f10, ...``)."""
    cols = [c for c in df.columns if isinstance(c, str) and c.startswith("f") and c[1:].isdigit()]
    return sorted(cols, key=lambda c: int(c[1:]))


def _row_name(df: pd.DataFrame | None, row: int) -> str:
    if df is not None and "material_id" in df.columns:
        return f"row {row} (material {df['material_id'].iloc[row]})"
    return f"row {row}"


def check_matrix(
    X, n_features: int | None = FINGERPRINT_LENGTH, df: pd.DataFrame | None = None, name: str = "fingerprints"
) -> np.ndarray:
    """Validate a fingerprint matrix and return it as float64.

    Parameters
    ----------
    X : array-like, shape (N, n_features)
    n_features : int or None
        Required row length; ``None`` accepts any length (e.g. structural fingerprints).
    df : DataFrame, optional
        Used only to name the material of a bad row in the error.

    Raises
    ------
    ValueError
        Wrong shape or length, or a row with NaN/inf (the message names the first bad row and how many).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (materials x numbers); got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name}: no materials (0 rows)")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} numbers per material; got {X.shape[1]}")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{name}: {_row_name(df, int(rows[0]))} contains NaN or inf"
            + (f" ({len(rows)} bad rows in all)" if len(rows) > 1 else "")
        )
    return X


def fingerprint_matrix(df: pd.DataFrame, n_features: int = FINGERPRINT_LENGTH) -> np.ndarray:
    """The fingerprints of a table as an array.

    Parameters
    ----------
    df : DataFrame with columns ``f0`` .. ``f{n_features-1}``

    Returns
    -------
    ndarray, shape (N, n_features), float64

    Raises
    ------
    ValueError
        Missing or extra ``f`` columns (wrong fingerprint length), or a NaN/inf row (named by material).
    """
    cols = feature_columns(df)
    expected = [f"f{i}" for i in range(n_features)]
    if cols != expected:
        missing = [c for c in expected if c not in cols]
        extra = [c for c in cols if c not in expected]
        detail = []
        if missing:
            detail.append(f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}")
        if extra:
            detail.append(f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}")
        raise ValueError(
            f"fingerprints must have {n_features} numbers per material (columns f0..f{n_features - 1}); "
            f"got {len(cols)} ({', '.join(detail)})"
        )
    return check_matrix(df[expected].to_numpy(dtype=np.float64), n_features, df=df)


def as_matrix(data, n_features: int | None = FINGERPRINT_LENGTH) -> np.ndarray:
    """A fingerprint table or an array -> validated ``(N, n_features)`` float array."""
    if isinstance(data, pd.DataFrame):
        if n_features is None:
            return check_matrix(data[feature_columns(data)].to_numpy(dtype=np.float64), None, df=data)
        return fingerprint_matrix(data, n_features)
    return check_matrix(data, n_features)


def read_fingerprints(path: str | Path) -> pd.DataFrame:
    """Read a fingerprint table (parquet or CSV) and check its columns and values.

    Returns
    -------
    DataFrame with ``material_id`` (str), ``formula`` (str), ``f0`` .. ``f97`` (float64).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"fingerprint table not found: {path}")
    df = read_table(path, dtype={"material_id": str, "formula": str})
    missing = [c for c in ID_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: fingerprint table lacks column(s) {missing}")
    try:
        fingerprint_matrix(df)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    df["material_id"] = df["material_id"].astype(str)
    df["formula"] = df["formula"].astype(str)
    repeated = df["material_id"][df["material_id"].duplicated()].unique().tolist()
    if repeated:  # a material twice would be its own duplicate at distance 0 and shift the clustering
        raise ValueError(f"{path}: {len(repeated)} material id(s) appear more than once "
                         f"({', '.join(repeated[:5])}{', ...' if len(repeated) > 5 else ''}); keep one row "
                         f"each")
    return df.reset_index(drop=True)


def read_table(path: str | Path, dtype=None) -> pd.DataFrame:
    """A parquet (``.parquet``/``.pq``) or CSV table; a missing, empty or unreadable file is an error naming
    it (FileNotFoundError or ValueError), never a library traceback."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table not found: {path}")
    try:
        if path.suffix.lower() in _PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=dtype)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty table (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV table ({exc})") from None
    except Exception as exc:
        raise ValueError(f"{path}: not a readable parquet table ({type(exc).__name__}: {exc})") from None


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write any table atomically (see :mod:`elfutils.io`): parquet for ``.parquet``/``.pq``, CSV otherwise,
    so a crash never leaves a half-written file where a good one was."""
    if Path(path).suffix.lower() in _PARQUET_SUFFIXES:
        return atomic_write_via_path(path, lambda tmp: df.to_parquet(tmp, index=False))
    return atomic_write_via_path(path, lambda tmp: df.to_csv(tmp, index=False))


def write_fingerprints(df: pd.DataFrame, path: str | Path) -> Path:
    """Check a fingerprint table (ids, 98 finite numbers per row) and write it atomically."""
    missing = [c for c in ID_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"fingerprint table lacks column(s) {missing}")
    fingerprint_matrix(df)
    return write_table(df, path)


def check_finite_fingerprints(fingerprints, ids, source) -> None:
    """ValueError naming ``source`` and the first material when any fingerprint is not finite: such a table
    is never written, since NaNs would poison every search and clustering downstream."""
    bad = ~np.isfinite(fingerprints).all(axis=1)
    if bad.any():
        raise ValueError(f"{source}: the model gives non-finite fingerprints for {int(bad.sum())} of "
                         f"{len(ids)} images (first: {ids[int(np.flatnonzero(bad)[0])]}); nothing written")


def make_table(material_ids, formulas, X) -> pd.DataFrame:
    """Build a fingerprint table from ids, formulas and an ``(N, d)`` array (columns ``f0``..)."""
    X = np.asarray(X, dtype=np.float64)
    table = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    table.insert(0, "formula", [str(f) for f in formulas])
    table.insert(0, "material_id", [str(m) for m in material_ids])
    return table


def synthetic_fingerprints(
    n_groups: int = 4, per_group: int = 15, n_noise: int = 10, spread: float = 0.02, seed: int = SEED
) -> tuple[pd.DataFrame, np.ndarray]:
    """A seeded fingerprint table with planted groups, for tests and examples.

    Group centres are uniform in [0, 1]^98, members are centre + N(0, spread^2) per number, noise
    materials are uniform in [0, 1]^98. Ids are ``m0, m1, ...``; formulas ``G<group>`` (``N`` for noise).

    Returns
    -------
    table : DataFrame (n_groups * per_group + n_noise rows)
    truth : ndarray (N,) planted group, -1 for noise
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.0, 1.0, size=(n_groups, FINGERPRINT_LENGTH))
    blocks = [c + rng.normal(scale=spread, size=(per_group, FINGERPRINT_LENGTH)) for c in centres]
    blocks.append(rng.uniform(0.0, 1.0, size=(n_noise, FINGERPRINT_LENGTH)))
    truth = np.r_[np.repeat(np.arange(n_groups), per_group), -np.ones(n_noise, dtype=int)]
    X = np.vstack(blocks)
    formulas = [f"G{t}" if t >= 0 else "N" for t in truth]
    return make_table([f"m{i}" for i in range(len(X))], formulas, X), truth
