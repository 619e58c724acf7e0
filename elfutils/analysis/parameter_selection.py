"""The paper's reasoning for its HDBSCAN parameters (Nc = 5, Ns = 2) as an explicit rule over a parameter
study (Fig. 7; Methods, "Multi-stage clustering module": "a relatively large DBCV index while minimising the
number of unclassified materials and keeping the number of clusters bounded"): :class:`SelectionRule`,
:func:`apply_selection_rule`, :func:`suggest_parameters`, and reading the grid (:func:`grid_point`,
:func:`study_extremes`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SelectionRule:
    """The paper's reasoning for (Nc, Ns) as a rule over a parameter-study grid
    (:func:`apply_selection_rule`).

    A grid point is a *candidate* when it

    1. gives at least ``min_clusters`` clusters and a finite DBCV (DBCV needs two clusters);
    2. has a "relatively large DBCV": at or above the ``dbcv_quantile`` quantile of the DBCV over the
       grid points of step 1 (0.5: the better half);
    3. keeps "the number of clusters bounded": at most the ``cluster_quantile`` quantile of the cluster
       counts of step 1 (0.5: not more than the median grid point).

    Of the candidates, the one with the fewest unclassified materials is chosen ("minimising the number of
    unclassified"); ties go to the higher DBCV, then to the smaller Nc and Ns.
    """

    dbcv_quantile: float = 0.5
    cluster_quantile: float = 0.5
    min_clusters: int = 2

    def __post_init__(self):
        for name in ("dbcv_quantile", "cluster_quantile"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
        if self.min_clusters < 2:
            raise ValueError(
                f"min_clusters must be >= 2 (DBCV needs two clusters), got {self.min_clusters!r}")

    def describe(self) -> str:
        """The rule in one sentence, for the book's text."""

        def q(x):
            return "median" if x == 0.5 else f"{100 * x:.0f}th percentile"

        return (
            f"among the settings with at least {self.min_clusters} clusters, keep those whose DBCV is at or "
            f"above the grid's {q(self.dbcv_quantile)} and whose cluster count is at or below the grid's "
            f"{q(self.cluster_quantile)}; of these, take the one with the fewest unclassified materials "
            "(ties: higher DBCV, then smaller Nc and Ns)"
        )


def apply_selection_rule(study: pd.DataFrame, rule: SelectionRule | None = None) -> pd.DataFrame:
    """The parameter study with the rule's verdict on every grid point.

    Parameters
    ----------
    study : :func:`elfutils.book.pipeline.parameter_study` table (min_cluster_size, min_samples, n_clusters,
        n_unclassified, dbcv, s_dbw)
    rule : :class:`SelectionRule` (default: the medians)

    Returns
    -------
    A copy with boolean columns ``valid`` (step 1), ``large_dbcv``, ``bounded``, ``candidate``, ``chosen``
    and ``order`` (1 = chosen, then the other candidates in the rule's order; NaN for non-candidates).
    ``attrs``: ``dbcv_threshold`` and ``cluster_bound`` (NaN when no grid point is valid), ``rule``.
    """
    rule = rule or SelectionRule()
    required = {"min_cluster_size", "min_samples", "n_clusters", "n_unclassified", "dbcv"}
    missing = required - set(study.columns)
    if missing:
        raise ValueError(f"parameter study lacks column(s) {sorted(missing)}")
    out = study.copy().reset_index(drop=True)
    dbcv = pd.to_numeric(out["dbcv"], errors="coerce")
    out["valid"] = (out["n_clusters"] >= rule.min_clusters) & np.isfinite(dbcv)
    valid = out[out["valid"]]
    if len(valid):
        dbcv_threshold = float(np.quantile(valid["dbcv"].astype(float), rule.dbcv_quantile))
        cluster_bound = float(np.quantile(valid["n_clusters"].astype(float), rule.cluster_quantile))
    else:
        dbcv_threshold = cluster_bound = float("nan")
    out["large_dbcv"] = out["valid"] & (dbcv >= dbcv_threshold)
    out["bounded"] = out["valid"] & (out["n_clusters"] <= cluster_bound)
    out["candidate"] = out["large_dbcv"] & out["bounded"]
    ranked = out[out["candidate"]].assign(_neg_dbcv=-dbcv[out["candidate"]]).sort_values(
        ["n_unclassified", "_neg_dbcv", "min_cluster_size", "min_samples"]
    )
    out["order"] = np.nan
    out.loc[ranked.index, "order"] = np.arange(1, len(ranked) + 1)
    out["chosen"] = out["order"] == 1
    out.attrs.update(dbcv_threshold=dbcv_threshold, cluster_bound=cluster_bound, rule=rule.describe())
    return out


def suggest_parameters(study: pd.DataFrame, rule: SelectionRule | None = None) -> pd.Series | None:
    """The grid point the rule chooses (a row of :func:`apply_selection_rule`); None when none qualifies."""
    judged = apply_selection_rule(study, rule)
    chosen = judged[judged["chosen"]]
    return None if chosen.empty else chosen.iloc[0]


def grid_point(study: pd.DataFrame, nc: int, ns: int) -> pd.Series | None:
    """The study's row for (Nc, Ns), or None when the grid does not hold it."""
    rows = study[(study["min_cluster_size"] == nc) & (study["min_samples"] == ns)]
    return None if rows.empty else rows.iloc[0]


def study_extremes(study: pd.DataFrame, column: str) -> dict:
    """Where a metric of the parameter study is smallest and largest:
    {min, min_nc, min_ns, max, max_nc, max_ns} (NaN and "-" when it is undefined everywhere)."""
    values = study.dropna(subset=[column])
    if values.empty:
        return {"min": float("nan"), "min_nc": "-", "min_ns": "-",
                "max": float("nan"), "max_nc": "-", "max_ns": "-"}
    lo, hi = values.loc[values[column].idxmin()], values.loc[values[column].idxmax()]
    return {"min": float(lo[column]), "min_nc": int(lo["min_cluster_size"]), "min_ns": int(lo["min_samples"]),
            "max": float(hi[column]), "max_nc": int(hi["min_cluster_size"]), "max_ns": int(hi["min_samples"])}
