"""Helpers of the book's analysis chapters: the Fig. 7 choice rule, embedding agreement (Supplementary
Note 1), the similarity-search example, and the measurements the paper-vs-ours registry reads.

* :func:`apply_selection_rule` / :func:`suggest_parameters` -- the paper's reasoning for Nc = 5, Ns = 2
  (Methods, "Multi-stage clustering module": "a relatively large DBCV index while minimising the number of
  unclassified materials and keeping the number of clusters bounded") written as an explicit rule.
* :func:`embedding_agreement` -- how faithfully a 2-D embedding (UMAP, t-SNE) keeps the fingerprint-space
  neighbourhoods: trustworthiness, share of k nearest neighbours kept, and whether a clustered material's
  nearest neighbour on the map is in its own HDBSCAN cluster.
* :func:`fig4_geometry`, :func:`square_octagon_survey`, :func:`group_closeness` -- the paper's Fig. 4
measured:
  the skew of the square-octagon layers, and whether such layers sit closer together in fingerprint space
  than random sets of the same size.
* :func:`choose_query`, :func:`rank_of` -- the similarity-search how-to's example query and its twin.
* :func:`co_cluster_check`, :func:`nc4_check`, :func:`flat_band_clusters`, :func:`structural_clusters` --
  the measurements behind the paper's named clusters; the registry of the paper's quantities
  (:mod:`elfutils.book.paper_quantities`) puts them beside the paper's values.
* :func:`latent_walk_study` -- Fig. 6: the paper's walks through 2dm-1's latent, as given and in units of
  each number's spread over the materials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils import constants as C
from elfutils.book.wording import counted


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


MISSING_CELL = "–"  # how a table of the book shows a missing value (pandas would print NaN, None, NaT, <NA>)


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


# --- Fig. 7: the choice of Nc and Ns -----------------------------------------------------------------------


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


STUDY_PANELS = {  # column -> (title, colour map, number format); bright = better for the two indices
    "n_clusters": ("number of clusters", "viridis", "{:.0f}"),
    "n_unclassified": ("number unclassified", "magma", "{:.0f}"),
    "dbcv": ("DBCV (higher is better)", "cividis", "{:.2f}"),
    "s_dbw": ("S_Dbw (lower is better)", "cividis_r", "{:.2f}"),
}


def study_heatmap(judged: pd.DataFrame, column: str, ax=None,
                  paper=(C.HDBSCAN_MIN_CLUSTER_SIZE, C.HDBSCAN_MIN_SAMPLES), legend: bool = False):
    """One panel of Fig. 7: ``column`` over the Nc x Ns grid, every cell labelled with its value, the
    paper's choice outlined (solid) and the rule's (:func:`apply_selection_rule`) too (dashed, smaller).

    The colour maps (:data:`STUDY_PANELS`) put "better" at the bright end for both DBCV (higher) and S_Dbw
    (lower); cells where an index is undefined (fewer than 2 clusters) are grey and hatched.

    Parameters
    ----------
    judged : :func:`apply_selection_rule` output (a plain study works too; then no circle)
    column : one of :data:`STUDY_PANELS`
    ax : matplotlib Axes (default: a new 5 x 4 inch figure)
    legend : add a legend of the markers (when any is drawn)

    Returns
    -------
    the Axes
    """
    import matplotlib.pyplot as plt

    if column not in STUDY_PANELS:
        raise ValueError(f"column must be one of {', '.join(STUDY_PANELS)}, got {column!r}")
    title, cmap, fmt = STUDY_PANELS[column]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.4, 4.2), constrained_layout=True)
    ncs = sorted(int(v) for v in judged["min_cluster_size"].unique())
    nss = sorted(int(v) for v in judged["min_samples"].unique())
    grid = judged.pivot(index="min_samples", columns="min_cluster_size", values=column)
    grid = grid.reindex(index=nss, columns=ncs).astype(float).to_numpy()
    values = np.ma.masked_invalid(grid)
    ax.set_facecolor("0.88")
    im = None
    if values.count():
        im = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto")
        ax.figure.colorbar(im, ax=ax, shrink=0.9)
    else:
        ax.set_xlim(-0.5, len(ncs) - 0.5)
        ax.set_ylim(-0.5, len(nss) - 0.5)
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7 if len(ncs) > 6 else 9,
                    color="w" if im is not None and _is_dark(im, v) else "k")
        else:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", ec="0.65", lw=0))
    _mark(ax, ncs, nss, paper, "s", "the paper's choice")  # square: cell outline; circle: corner dot
    if "chosen" in judged and judged["chosen"].any():
        row = judged[judged["chosen"]].iloc[0]
        _mark(ax, ncs, nss, (row["min_cluster_size"], row["min_samples"]), "o", "the rule's choice")
    ax.set_xticks(range(len(ncs)), [str(v) for v in ncs])
    ax.set_yticks(range(len(nss)), [str(v) for v in nss])
    ax.set_xlabel("minimum cluster size $N_c$")
    ax.set_ylabel("minimum samples $N_s$")
    ax.set_title(title)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False,
                  handleheight=1.2)
    return ax


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


def paper_choice_verdict(judged: pd.DataFrame,
                         paper=(C.HDBSCAN_MIN_CLUSTER_SIZE, C.HDBSCAN_MIN_SAMPLES)) -> str:
    """One sentence: how the paper's (Nc, Ns) fares under the rule on this study
    (:func:`apply_selection_rule` output)."""
    at = grid_point(judged, *paper)
    if at is None:
        return "Our grid does not hold the paper's choice."
    if bool(at["chosen"]):
        return "The rule picks the paper's choice on our data too."
    if bool(at["candidate"]):
        return (f"The paper's choice passes the rule, as candidate {int(at['order'])} of "
                f"{int(judged['candidate'].sum())}.")
    if not bool(at["valid"]):
        return (f"On our data the paper's choice gives {counted(at['n_clusters'], 'cluster')}, fewer than "
                "the rule needs for a DBCV.")
    why = [w for w, ok in (("its DBCV is below the threshold", at["large_dbcv"]),
                           ("it gives more clusters than the bound", at["bounded"])) if not ok]
    return "On our data the paper's choice fails the rule: " + " and ".join(why) + "."


def parameter_study_figure(judged: pd.DataFrame, paper=(C.HDBSCAN_MIN_CLUSTER_SIZE, C.HDBSCAN_MIN_SAMPLES)):
    """Fig. 7 in one figure: the four :func:`study_heatmap` panels (clusters, unclassified, DBCV, S_Dbw)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 8.4), constrained_layout=True)
    for ax, column in zip(axes.ravel(), STUDY_PANELS, strict=False):
        study_heatmap(judged, column, ax, paper)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), frameon=False)
    return fig


def _is_dark(im, value) -> bool:
    r, g, b, _ = im.cmap(im.norm(value))
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5


def _mark(ax, ncs, nss, point, marker, label):
    """Mark grid cell ``point``: "s" outlines the cell with a solid line, "o" with a dashed, smaller one
    (black under white, visible on any colour). Skipped when the grid does not hold the point."""
    import matplotlib.pyplot as plt

    nc, ns = (int(v) for v in point)
    if nc not in ncs or ns not in nss:
        return
    x, y = ncs.index(nc), nss.index(ns)
    half, style = (0.47, "-") if marker == "s" else (0.36, (0, (3, 2)))
    box = dict(xy=(x - half, y - half), width=2 * half, height=2 * half, fill=False)
    ax.add_patch(plt.Rectangle(**box, ec="k", lw=3.5, ls="-" if marker == "s" else style, label=label))
    ax.add_patch(plt.Rectangle(**box, ec="w", lw=1.5, ls=style))


# --- Supplementary Note 1: how well an embedding keeps the fingerprint neighbourhoods ----------------------


def _check_square(distances) -> np.ndarray:
    D = np.asarray(distances, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"distances must be a square (N, N) matrix, got shape {D.shape}")
    return D


def effective_k(n: int, k: int) -> int:
    """k capped so that trustworthiness is defined (scikit-learn needs k < N / 2); at least 1."""
    if n < 4:
        raise ValueError(f"need at least 4 materials to compare neighbourhoods, got {n}")
    return max(1, min(int(k), math.ceil(n / 2) - 1))


def knn_indices(distances, k: int) -> np.ndarray:
    """(N, k) indices of each point's k nearest other points (ties broken by index)."""
    D = _check_square(distances).copy()
    np.fill_diagonal(D, np.inf)
    return np.argsort(D, axis=1, kind="stable")[:, :k]


def _pairwise(embedding) -> np.ndarray:
    from scipy.spatial.distance import cdist

    E = np.asarray(embedding, dtype=np.float64)
    return cdist(E, E)


def knn_preserved(distances, embedding, k: int = C.UMAP_N_NEIGHBORS) -> float:
    """Mean share of each material's k nearest neighbours in fingerprint space (``distances``) that are also
    among its k nearest on the embedding (1 = every neighbourhood kept; ~k/N for a random map)."""
    D = _check_square(distances)
    E = np.asarray(embedding, dtype=np.float64)
    if len(E) != len(D):
        raise ValueError(f"{len(E)} embedded points for {len(D)} materials")
    a, b = knn_indices(D, k), knn_indices(_pairwise(E), k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def same_cluster_neighbour(distances, labels) -> float:
    """Share of the clustered materials (label >= 0) whose nearest other material under ``distances`` has
    the same label; NaN when nothing is clustered."""
    D = _check_square(distances)
    labels = np.asarray(labels)
    nearest = knn_indices(D, 1)[:, 0]
    clustered = labels >= 0
    if not clustered.any():
        return float("nan")
    return float(np.mean(labels[nearest[clustered]] == labels[clustered]))


def embedding_agreement(distances, embeddings: dict, labels=None,
                        k: int = C.UMAP_N_NEIGHBORS) -> pd.DataFrame:
    """How well each 2-D embedding keeps the fingerprint-space neighbourhoods.

    Parameters
    ----------
    distances : array (N, N), fingerprint distances (Minkowski p = 0.2)
    embeddings : {name: array (N, 2)}, same row order
    labels : array (N,) HDBSCAN labels (-1 unclassified), optional
    k : neighbourhood size (capped by :func:`effective_k`)

    Returns
    -------
    DataFrame indexed by name, with a first row "fingerprint space" (the reference: 1, 1, and the share for
    the distances themselves): trustworthiness (scikit-learn; 1 = no false neighbours on the map),
    knn_preserved (:func:`knn_preserved`), same_cluster_neighbour (:func:`same_cluster_neighbour`, when
    labels are given). ``attrs['k']`` is the k used.
    """
    from sklearn.manifold import trustworthiness

    D = _check_square(distances)
    k = effective_k(len(D), k)
    rows = {"fingerprint space": {"trustworthiness": 1.0, "knn_preserved": 1.0}}
    if labels is not None:
        rows["fingerprint space"]["same_cluster_neighbour"] = same_cluster_neighbour(D, labels)
    for name, E in embeddings.items():
        E = np.asarray(E, dtype=np.float64)
        if E.shape != (len(D), 2):
            raise ValueError(f"embedding {name!r} must have shape ({len(D)}, 2), got {E.shape}")
        row = {"trustworthiness": float(trustworthiness(D, E, n_neighbors=k, metric="precomputed")),
               "knn_preserved": knn_preserved(D, E, k)}
        if labels is not None:
            row["same_cluster_neighbour"] = same_cluster_neighbour(_pairwise(E), labels)
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs["k"] = k
    return table


def agreement_by_k(distances, embeddings: dict, ks=(5, 10, 20, 50)) -> pd.DataFrame:
    """Trustworthiness and share of neighbours kept for several neighbourhood sizes.

    Returns
    -------
    Tidy DataFrame: k, embedding, trustworthiness, knn_preserved (k values above :func:`effective_k` are
    dropped; duplicates after capping too)
    """
    from sklearn.manifold import trustworthiness

    D = _check_square(distances)
    usable = sorted({effective_k(len(D), k) for k in ks})
    rows = []
    for k in usable:
        for name, E in embeddings.items():
            E = np.asarray(E, dtype=np.float64)
            rows.append({"k": k, "embedding": name,
                         "trustworthiness": float(trustworthiness(D, E, n_neighbors=k, metric="precomputed")),
                         "knn_preserved": knn_preserved(D, E, k)})
    return pd.DataFrame(rows)


def group_closeness(distances, members, n_permutations: int = C.N_PERMUTATIONS, seed: int = C.SEED) -> dict:
    """Are the ``members`` (row indices) closer to each other in fingerprint space than materials picked at
    random? Compares the median distance over their pairs with that of ``n_permutations`` random sets of the
    same size (seeded).

    Returns
    -------
    dict: n, median_within, median_all (over all pairs), ratio (within / all), expected_within (mean of the
    random sets' medians), p_value (share of random sets at least as close); NaN where fewer than 2 members
    """
    D = _check_square(distances)
    members = np.unique(np.asarray(members, dtype=int))
    upper = np.triu_indices(len(D), k=1)
    median_all = float(np.median(D[upper])) if len(D) > 1 else math.nan
    out = {"n": len(members), "median_all": median_all}
    if len(members) < 2:
        return out | {"median_within": math.nan, "ratio": math.nan, "expected_within": math.nan,
                      "p_value": math.nan}

    def within(idx):
        sub = D[np.ix_(idx, idx)]
        return float(np.median(sub[np.triu_indices(len(idx), k=1)]))

    observed = within(members)
    rng = np.random.default_rng(seed)
    random_medians = np.array([within(rng.choice(len(D), len(members), replace=False))
                               for _ in range(n_permutations)])
    return out | {"median_within": observed, "ratio": observed / median_all,
                  "expected_within": float(random_medians.mean()),
                  "p_value": float((np.sum(random_medians <= observed) + 1) / (n_permutations + 1))}


# elfutils.analysis.structure.name_motif's name for the net of the paper's Fig. 4
SQUARE_OCTAGON = "square-octagon"


def fig4_geometry() -> pd.DataFrame:
    """The in-plane bond geometry (:func:`elfutils.analysis.structure.bond_geometry`) of the paper's
    cluster-20
    materials (InAs and partners) from their 2Dmatpedia structures, with the paper's reading of its Fig. 4
    ("paper": symmetric or skewed) and whether our motif naming agrees ("agrees": a symmetric one is named
    square-octagon, a skewed one is not)."""
    from elfutils.analysis.structure import bond_geometry
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import structure_from_record

    anchor = "2dm-2474"
    records = structure_records()
    ids = [anchor, *C.PAPER_CO_CLUSTERED[anchor][2]]
    table = bond_geometry({m: structure_from_record(records[m]) for m in ids})
    table.insert(1, "paper", ["skewed" if m in C.PAPER_FIG4_SKEWED else "symmetric" for m in table.index])
    table["agrees"] = (table.paper == "symmetric") == (table.motif == SQUARE_OCTAGON)
    return table


def square_octagon_survey(table: pd.DataFrame, distances, n_permutations: int = C.N_PERMUTATIONS,
                          survey: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Every material of ``table`` (material_id, hdbscan_label; the rows of ``distances``) whose 2Dmatpedia
    layer is a square-octagon net, and whether they sit closer together in fingerprint space than random
    sets (:func:`group_closeness`).

    Returns
    -------
    (members: :func:`elfutils.analysis.structure.bond_geometry` rows of the square-octagon materials with
    their
    HDBSCAN ``cluster`` and ``row`` in ``table``; closeness dict with n_with_structure, n_clusters,
    n_unclassified, top_cluster_share added). ``survey``: the bond geometry of the table's materials when
    already computed (indexed by material id), else computed here.
    """
    from elfutils.analysis.structure import bond_geometry
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import structure_from_record

    records = structure_records()
    ids = [m for m in table["material_id"] if m in records]
    if survey is None:  # the book passes its cached stage (elfutils.book.pipeline.bond_geometry)
        survey = bond_geometry({m: structure_from_record(records[m]) for m in ids})
    else:
        survey = survey[survey.index.isin(set(ids))]
    row_of = {m: i for i, m in enumerate(table["material_id"])}
    members = survey[survey.motif == SQUARE_OCTAGON].copy()
    members["row"] = [row_of[m] for m in members.index]
    members["cluster"] = table["hdbscan_label"].to_numpy()[members["row"].to_numpy(dtype=int)]
    closeness = group_closeness(distances, members["row"], n_permutations=n_permutations)
    clustered = members.cluster[members.cluster >= 0]
    closeness |= {"n_with_structure": len(ids), "n_clusters": int(clustered.nunique()),
                  "n_unclassified": int((members.cluster < 0).sum()),
                  "top_cluster_share": (clustered.value_counts().iloc[0] / len(members)
                                        if len(clustered) else 0.0)}
    return members, closeness


def chemistry_verdict(chem: dict, alpha: float = 0.05) -> str:
    """A sentence on :func:`elfutils.analysis.chemistry.cluster_chemistry`'s result: beyond chance or not."""
    if not chem.get("n_clusters"):
        return "there are no clusters to judge"
    if chem["p_value"] < alpha and chem["n_dominated"] > chem["expected_dominated"]:
        return "more than chance allows, so the clusters carry chemistry the network was never given"
    return "no more than chance allows, so in this build the clusters do not follow the anion family"


def nc4_check(table: pd.DataFrame, min_samples: int = C.HDBSCAN_MIN_SAMPLES,
              p: float = C.MINKOWSKI_P) -> dict:
    """The paper's Nc = 4 example: do its four rare-earth trifluorides (``PAPER_NC4_CLUSTER``) share one
    HDBSCAN cluster when the minimum cluster size is lowered to 4?

    Parameters
    ----------
    table : fingerprint table (material_id, formula, f0..f97)

    Returns
    -------
    dict: present (ids in the table), absent (id -> why: the pool's reason, or "not in this build's data"),
    labels (id -> cluster at Nc = 4; only when two or more are present, else empty), same_cluster (bool or
    None when fewer than two are present), n_clusters (at Nc = 4, None when not fitted)
    """
    from elfutils.analysis.cluster import FingerprintHDBSCAN
    from elfutils.data.dataset import flat_band_pool

    named = C.PAPER_NC4_CLUSTER
    ids = set(table["material_id"])
    present = [m for m in named if m in ids]
    pool = flat_band_pool().set_index("material_id")
    absent = {m: (pool.absence_reason.get(m) or "not in this build's data") for m in named if m not in ids}
    out = {"present": present, "absent": absent, "labels": {}, "same_cluster": None, "n_clusters": None}
    if len(present) >= 2:
        fitted = FingerprintHDBSCAN(min_cluster_size=C.PAPER_NC4_MIN_CLUSTER_SIZE, min_samples=min_samples,
                                    p=p).fit(table)
        label_of = dict(zip(fitted.material_ids_, fitted.labels_, strict=True))
        out["labels"] = {m: int(label_of[m]) for m in present}
        values = set(out["labels"].values())
        out["same_cluster"] = len(values) == 1 and values != {-1}
        out["n_clusters"] = int(fitted.n_clusters_)
    return out


def cluster_colours(labels) -> dict:
    """A colour per HDBSCAN label from the book's one cluster palette
    (:func:`elfutils.book.figures.cluster_colors`: the same cluster, the same colour in every chapter); the
    unclassified grey for -1."""
    from elfutils.book.figures import NOISE_COLOR, cluster_colors

    labels = np.unique(labels)
    palette = cluster_colors(int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0)
    return {int(c): (NOISE_COLOR if c < 0 else palette[int(c)]) for c in labels}


def embeddings_figure(labels, embeddings: dict, titles: dict | None = None):
    """Side-by-side 2-D embeddings coloured by the same cluster labels (unclassified: small grey dots).

    Parameters
    ----------
    labels : array (N,) HDBSCAN labels
    embeddings : {name: array (N, 2)}
    titles : {name: panel title}, optional

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    labels = np.asarray(labels)
    colours = cluster_colours(labels)
    fig, axes = plt.subplots(1, len(embeddings), figsize=(5.6 * len(embeddings), 5.2),
                             constrained_layout=True, squeeze=False)
    noise = labels < 0
    for ax, (name, E) in zip(axes[0], embeddings.items(), strict=False):
        E = np.asarray(E, dtype=float)
        ax.scatter(E[noise, 0], E[noise, 1], s=6, c="0.8", lw=0, label="unclassified")
        clustered = np.flatnonzero(~noise)
        ax.scatter(E[clustered, 0], E[clustered, 1], s=18, c=[colours[int(c)] for c in labels[clustered]],
                   lw=0.3, edgecolors="k")
        ax.set_title((titles or {}).get(name, name))
        if noise.any() and ax is axes[0, 0]:
            ax.legend(loc="best", fontsize=8, markerscale=2)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    return fig


# --- the similarity-search how-to --------------------------------------------------------------------------


def choose_query(files, records) -> dict:
    """The example query of the similarity-search chapter: one of the real 2Dmatpedia band files.

    Preference: a file whose material is in the dataset as a *different* calculation (our GPAW band
    structure: the VASP and GPAW versions should land near each other); else one whose material is in the
    dataset as this very file; else the first file.

    Parameters
    ----------
    files : paths of the band files (``elfutils.data.dataset.real_band_files()``)
    records : the dataset's band structures (``elfutils.book.pipeline.load_dataset(profile)``)

    Returns
    -------
    dict: path, material_id, twin_in_dataset (bool), twin_source (the dataset record's ``source``, "" when
    absent), twin_is_same_file (bool)
    """
    files = [Path(f) for f in files]
    if not files:
        raise ValueError("no band files to choose a query from")
    by_id = {r.material_id: r for r in records}

    def same_file(path, record):
        try:
            return Path(record.source).resolve() == path.resolve()
        except (OSError, TypeError, ValueError):
            return False

    def entry(path):
        mid = path.name.removesuffix(".gz").removesuffix(".json")
        record = by_id.get(mid)
        return {"path": path, "material_id": mid, "twin_in_dataset": record is not None,
                "twin_source": getattr(record, "source", "") if record is not None else "",
                "twin_is_same_file": record is not None and same_file(path, record)}

    entries = [entry(f) for f in files]
    for wanted in (lambda e: e["twin_in_dataset"] and not e["twin_is_same_file"],
                   lambda e: e["twin_in_dataset"]):
        found = [e for e in entries if wanted(e)]
        if found:
            return found[0]
    return entries[0]


def band_images_figure(images, titles, ncols: int = 6, highlight: int | None = 0,
                       window: float | None = None):
    """Band-structure images in a grid (line pixels black), one title per image, each on its energy axis
    (±``window`` eV, default the paper's) with the zero line; the first column labels the axis.

    Parameters
    ----------
    images : sequence of uint8 (S, S) 0/1 images
    titles : sequence of str, same length
    ncols : images per row
    highlight : index of an image to frame in red (the query), or None
    window : the images' energy window in eV

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    from elfutils.images.plot import draw_band_image

    images = list(images)
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    if not images:
        raise ValueError("no images to show")
    ncols = max(1, min(ncols, len(images)))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols + 0.4, 2.55 * nrows), squeeze=False,
                             sharey=True, constrained_layout=True)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (image, title) in enumerate(zip(images, titles, strict=True)):
        ax = axes.ravel()[i]
        ax.axis("on")
        draw_band_image(ax, np.asarray(image), window, title, ylabel=i % ncols == 0)  # sharey: one axis a row
        if highlight is not None and i == highlight:
            for spine in ax.spines.values():
                spine.set(color="tab:red", lw=2.5)
    return fig


def rank_of(result: pd.DataFrame, material_id: str) -> tuple[int | None, float]:
    """(rank, distance) of a material in a :func:`elfutils.analysis.similar.find_similar` result of one query;
    (None, NaN) when it is not listed."""
    rows = result[result["material_id"].astype(str) == str(material_id)]
    if rows.empty:
        return None, float("nan")
    return int(rows["rank"].iloc[0]), float(rows["distance"].iloc[0])


# --- paper vs this reproduction ----------------------------------------------------------------------------


def co_cluster_check(table: pd.DataFrame, distances=None,
                     named: Mapping[str, tuple] = C.PAPER_CO_CLUSTERED) -> pd.DataFrame:
    """Do the materials the paper puts in one cluster share one in ours?

    Parameters
    ----------
    table : :func:`elfutils.book.pipeline.clustering` (material_id, hdbscan_label)
    distances : optional (N, N) fingerprint distances in the row order of ``table``; gives each partner's
        rank among the anchor's nearest neighbours (1 = its closest material)
    named : anchor id -> (anchor formula, the paper's cluster, {partner id: formula})

    Returns
    -------
    DataFrame, one row per (anchor, partner): anchor, anchor_formula, partner, partner_formula,
    in_data (both present), anchor_cluster, partner_cluster, same_cluster, neighbour_rank
    """
    index = {m: i for i, m in enumerate(table["material_id"].astype(str))}
    labels = table["hdbscan_label"].to_numpy()
    rows = []
    for anchor, (aform, _, partners) in named.items():
        for partner, pform in partners.items():
            present = anchor in index and partner in index
            ca = int(labels[index[anchor]]) if anchor in index else None
            cp = int(labels[index[partner]]) if partner in index else None
            rank = np.nan
            if present and distances is not None:
                d = np.asarray(distances)[index[anchor]].copy()
                d[index[anchor]] = np.inf
                rank = int((d < d[index[partner]]).sum() + 1)
            rows.append({"anchor": anchor, "anchor_formula": aform, "partner": partner,
                         "partner_formula": pform, "in_data": present, "anchor_cluster": ca,
                         "partner_cluster": cp, "same_cluster": bool(present and ca is not None and ca >= 0
                                                                      and ca == cp),
                         "neighbour_rank": rank})
    return pd.DataFrame(rows)


def flat_band_clusters(clusters: pd.DataFrame, records, n_permutations: int = C.N_PERMUTATIONS,
                       seed: int = C.SEED) -> dict:
    """Whether clusters gather materials with many flat bands near E_F: the flat-band count of each
    material (:meth:`elfutils.data.bands.BandStructure.flat_band_count` with the figures' window and width),
    :func:`elfutils.analysis.cluster_statistics.cluster_variance_share` of it, and ``top`` (cluster -> mean
    count, richest
    first) and ``counts`` (per row of ``clusters``; NaN where no record)."""
    from elfutils.analysis.cluster_statistics import (
        FLAT_BAND_MAX_WIDTH_EV,
        FLAT_BAND_WINDOW_EV,
        cluster_variance_share,
    )

    by_id = {r.material_id: r for r in records}
    counts = np.array([by_id[m].flat_band_count(FLAT_BAND_WINDOW_EV, FLAT_BAND_MAX_WIDTH_EV) if m in by_id
                       else np.nan for m in clusters["material_id"]], dtype=float)
    labels = clusters["hdbscan_label"].to_numpy()
    out = cluster_variance_share(labels, counts, n_permutations=n_permutations, seed=seed)
    means = pd.Series(counts[labels >= 0]).groupby(labels[labels >= 0]).mean().sort_values(ascending=False,
                                                                                           kind="stable")
    return out | {"top": {int(c): float(m) for c, m in means.items()}, "counts": counts}


def structural_clusters(profile, clusters: pd.DataFrame):
    """(CNNF cluster per material as a Series indexed by material_id, localisation table) for a profile,
    clustered with the profile's Nc and Ns; (None, None) when no material has a structural fingerprint."""
    from elfutils.analysis.structure import cluster_structures, cnnf_on_elf_map
    from elfutils.book import pipeline
    from elfutils.book.profiles import get_profile

    p = get_profile(profile)
    cnnf = pipeline.structural_fingerprints(p)
    if len(cnnf) <= p.min_samples:
        return None, None
    fitted = cluster_structures(cnnf, p.min_cluster_size, p.min_samples)
    labels = pd.Series(fitted.labels_, index=cnnf.index.astype(str), name="cnnf_cluster")
    _, localisation = cnnf_on_elf_map(clusters, labels)  # the whole map sets the length scale
    return labels, localisation


WALK_LABELS = "ab"  # the paper's panel letters of Fig. 6, one per walk of LATENT_WALK_SPECS


@dataclass(frozen=True)
class LatentWalkStudy:
    """Fig. 6 for one profile (:func:`latent_walk_study`).

    info : :func:`elfutils.book.example_material.example_image`'s info for the walked material
    walks : the paper's walks (:class:`elfutils.nn.latent.LatentWalk`), Δ as the paper gives them
    scaled : the same walks with Δ in units of ``sigma``
    sigma : per walk, the standard deviation of the walked number over the profile's fingerprints
    """

    info: dict
    walks: list
    scaled: list
    sigma: list

    def steps(self, scaled: bool = False) -> pd.DataFrame:
        """One row per walk (:data:`WALK_LABELS`) and Δ: Δ, Δ / σ, the number's value z0, σ, the share of
        changed and of flipped pixels (%) and the largest probability change against Δ = 0."""
        walks = self.scaled if scaled else self.walks
        return pd.DataFrame([
            {"walk": label, "Δ": d, "Δ / σ": d / s, "z0": w.z0, "σ": s, "changed (%)": 100 * ch,
             "flipped (%)": 100 * fl, "max |Δ probability|": float(np.abs(diff).max())}
            for label, w, s in zip(WALK_LABELS, walks, self.sigma, strict=False)
            for d, ch, fl, diff in zip(w.deltas, w.changed_fraction, w.flipped_fraction, w.differences,
                                       strict=True)])

    def largest_steps(self, scaled: bool = False) -> pd.DataFrame:
        """:meth:`steps` at each walk's largest Δ, indexed by walk."""
        return self.steps(scaled).groupby("walk").last()


def latent_walk_study(profile, material_id: str = C.LATENT_WALK_MATERIAL) -> LatentWalkStudy:
    """The paper's Fig. 6 walks (:data:`elfutils.constants.LATENT_WALK_SPECS`) with the profile's model on
    ``material_id``'s image, and the same walks in units of each walked number's spread."""
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.book import pipeline
    from elfutils.book.example_material import example_image
    from elfutils.book.profiles import get_profile
    from elfutils.nn import latent

    p = get_profile(profile)
    net, config, _ = pipeline.model(p)
    image, info = example_image(p, material_id)
    walks = latent.latent_walk_grid(net, image)
    X = fingerprint_matrix(pipeline.fingerprints(p), config.fingerprint_length)
    sigma = [float(X[:, latent.element_index(config, w.channel, w.position)].std()) for w in walks]
    return LatentWalkStudy(info, walks, latent.latent_walk_grid(net, image, scales=sigma), sigma)
