"""What the book's clusters can carry (issue #32, "degenerate clustering, confronted"): sentences built from
computed tables, negative results first, and the check of the paper's lattice claim.

* :func:`degenerate_sentence` -- how weak the clustering at the paper's setting is (DBCV, unclassified);
* :func:`chemistry_sentence` -- the elf clusters' chemistry against clusterings by the band gap alone and by
  the pixels (:func:`elfutils.analysis.cluster_baselines.chemistry_scores`);
* :func:`gap_spread_sentence` -- a cluster's narrow band-gap spread against a clustering by the gap alone;
* :func:`motif_check`, :func:`motif_holds` and :func:`motif_sentence` -- do the materials of one lattice
  motif (the paper: kagome and dice) form a well-defined, low-spread group in the elf space?
* :func:`claims_verdict` -- which of the paper's qualitative cluster claims survive, those that do not first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from elfutils.analysis import cluster_baselines as cb
from elfutils.constants import N_PERMUTATIONS, SEED

# the paper, Results (Fig. 5): "sublattices like Kagome and Dice form well-defined, low-spread clusters"
MOTIFS = ("kagome", "dice")
ALPHA = 0.05  # a permutation p-value below this counts as beyond chance
WEAK_DBCV = 0.1  # ours: a DBCV below this (the index runs from -1 to 1) reads as "barely separated"
# ours: "a well-defined cluster" holds at least half of a motif's clustered materials and is at least half
# that motif
WELL_DEFINED_SHARE = 0.5


def degenerate_sentence(at_paper, judged: pd.DataFrame, share: dict,
                        subject: str = "The clusters every cluster-based claim of this book rests on") -> str:
    """The clustering at the paper's setting in one sentence, weakness first.

    Parameters
    ----------
    at_paper : the parameter study's row at the paper's Nc and Ns (or None)
    judged : the parameter study (dbcv column over the grid)
    share : :func:`elfutils.analysis.cluster_baselines.concentration` of that clustering
    subject : what the sentence is about (its first words)
    """
    if at_paper is None or not np.isfinite(at_paper["dbcv"]):
        return "The paper's setting is not on this grid, so its clustering cannot be judged here."
    grid = judged.dbcv.dropna()
    head = f"{subject} are " + ("barely separated" if at_paper["dbcv"] < WEAK_DBCV else "separated")
    return (f"{head}: at the paper's setting DBCV is {at_paper['dbcv']:.3f} on a scale from -1 to 1, where 0 "
            f"means clusters no denser than the space between them (the grid spans {grid.min():.3f} to "
            f"{grid.max():.3f}), and HDBSCAN leaves {share['n'] - share['n_clustered']} of the {share['n']} "
            f"materials ({share['unclassified_share']:.0%}) unclassified.")


def chemistry_sentence(chemistry: pd.DataFrame, elf: str = cb.ELF_NAME) -> str:
    """Is the elf clusters' chemistry more than the band gap gives? ``chemistry``:
    :func:`elfutils.analysis.cluster_baselines.chemistry_scores`, one row per clustering."""
    if elf not in chemistry.index or len(chemistry) < 2:
        raise ValueError(f"need the row {elf!r} and at least one baseline")
    mine = chemistry.loc[elf]
    others = chemistry.drop(index=elf)
    gap_rows = [n for n in others.index if n.startswith("band gap")]
    best = others.ami.idxmax()
    if mine.ami > others.ami.max():
        head = (f"The elf clusters follow the anion family more than any baseline does: AMI "
                f"{mine.ami:.3f} against at most {others.ami.max():.3f} ({best})")
    else:
        head = (f"The elf clusters' chemistry signal is no stronger than that of a clustering that knows "
                f"less: AMI {mine.ami:.3f} against {others.ami.max():.3f} for {best}")
    gap_best = others.loc[gap_rows].ami.max() if gap_rows else float("nan")
    detail = (f"; the band gap alone reaches AMI {gap_best:.3f}" if gap_rows and best not in gap_rows else "")
    dominated = (f". Of the elf clusters, {int(mine.n_dominated)} are dominated by one family "
                 f"({mine.expected_dominated:.1f} expected at random, p = {mine.p_value:.3f}), against "
                 + ", ".join(f"{int(r.n_dominated)} for {n} ({r.expected_dominated:.1f} expected)"
                             for n, r in others.iterrows()))
    return head + detail + dominated + "."


def gap_spread_sentence(elf_iqr: float, gap_iqr: float, all_iqr: float) -> str:
    """A narrow band-gap spread in the elf clusters, set against a clustering by the band gap alone."""
    relation = "wider than" if elf_iqr > gap_iqr else "no wider than"
    return (f"That narrow spread is what any grouping by the band gap gives: the same materials cut by their "
            f"gap alone into clusters of the same sizes spread by a median interquartile range of "
            f"{gap_iqr:.3f} eV, so the elf clusters ({elf_iqr:.3f} eV, all materials {all_iqr:.2f} eV) are "
            f"{relation} a clustering that knows nothing but the gap.")


def motif_check(table: pd.DataFrame, motifs, distances, wanted=MOTIFS, n_permutations: int = N_PERMUTATIONS,
                seed: int = SEED) -> pd.DataFrame:
    """Where the materials of each ``wanted`` motif sit in the elf space.

    Parameters
    ----------
    table : material_id, hdbscan_label, umap_x, umap_y, one row per material in the order of ``distances``
    motifs : (N,) motif name per material, None where none is named
    distances : (N, N) fingerprint distances

    Returns
    -------
    DataFrame indexed by motif: :func:`elfutils.analysis.cluster_baselines.motif_memberships`' columns, then
    closeness (median pairwise distance within the motif over that of all pairs), closeness_p (share of random
    sets as close; :func:`elfutils.analysis.closeness.group_closeness`), largest_island and localised (the
    criterion of Fig. 5, :func:`elfutils.analysis.structure.localised_structural_clusters`)
    """
    from elfutils.analysis.closeness import group_closeness
    from elfutils.analysis.structure import localised_structural_clusters

    motifs = np.asarray(motifs, dtype=object)
    if len(motifs) != len(table) or len(distances) != len(table):
        raise ValueError(f"table, motifs and distances differ in length: {len(table)}, {len(motifs)}, "
                         f"{len(distances)}")
    out = cb.motif_memberships(table.hdbscan_label.to_numpy(), motifs, wanted)
    codes = np.full(len(table), -1)
    for i, motif in enumerate(wanted):
        codes[motifs == motif] = i
    islands = localised_structural_clusters(table[["umap_x", "umap_y"]].to_numpy(), codes).set_index(
        "cnnf_cluster")
    # by label, never by position (an empty frame's index is not integer, and .get would read positions)
    largest, localised = islands.largest_island.to_dict(), islands.localised.to_dict()
    rows = {}
    for i, motif in enumerate(wanted):
        close = group_closeness(distances, np.flatnonzero(motifs == motif), n_permutations=n_permutations,
                                seed=seed)
        rows[motif] = {"closeness": close["ratio"], "closeness_p": close["p_value"],
                       "largest_island": int(largest.get(i, 0)), "localised": bool(localised.get(i, False))}
    return out.join(pd.DataFrame.from_dict(rows, orient="index"))


def motif_holds(r) -> bool:
    """One row of :func:`motif_check`: does the motif form a well-defined, low-spread cluster? Well-defined:
    one elf cluster holds at least :data:`WELL_DEFINED_SHARE` of the motif's clustered materials and is at
    least that much the motif; low-spread: its materials lie closer together than random sets (p below
    :data:`ALPHA`) and form a localised island on the map."""
    return bool(r.n >= 2 and r.top_cluster_clustered_share >= WELL_DEFINED_SHARE
                and r.top_cluster_motif_share >= WELL_DEFINED_SHARE and r.closeness < 1
                and r.closeness_p < ALPHA and r.localised)


def _motif_facts(motif: str, r) -> str:
    if r.n < 2:
        one = r.n == 1
        return (f"there {'is' if one else 'are'} {int(r.n)} {motif} material{'' if one else 's'} here, too "
                "few for a cluster")
    plural = "" if r.n_clusters == 1 else "s"
    top = ("" if not np.isfinite(r.top_cluster_share) else
           f"; the largest share in one cluster is {r.top_cluster_share:.0%} of them, "
           f"{r.top_cluster_motif_share:.0%} of that cluster's members")
    return (f"the {int(r.n)} {motif} materials fall into {int(r.n_clusters)} elf cluster{plural} with "
            f"{int(r.n_unclassified)} unclassified{top}; their median distance is {r.closeness:.2f} times "
            f"that of all pairs (random sets as close: p = {r.closeness_p:.3f}), and their largest island on "
            f"the map holds {int(r.largest_island)} ({'' if r.localised else 'not '}localised by the "
            "criterion of Fig. 5)")


def motif_sentence(check: pd.DataFrame) -> str:
    """The verdict on the paper's lattice claim from :func:`motif_check`, the negative result first."""
    held = [m for m, r in check.iterrows() if motif_holds(r)]
    failed = [m for m in check.index if m not in held]
    parts = []
    if failed:
        parts.append(f"The paper's claim is not reproduced for {' and '.join(failed)} sublattices: "
                     + "; ".join(_motif_facts(m, check.loc[m]) for m in failed) + ".")
    if held:
        lead = "It holds for" if failed else "The paper's claim holds for"
        parts.append(f"{lead} {' and '.join(held)} sublattices: "
                     + "; ".join(_motif_facts(m, check.loc[m]) for m in held) + ".")
    return " ".join(parts)


def claims_verdict(chemistry: pd.DataFrame, lattices: pd.DataFrame, elf: str = cb.ELF_NAME) -> str:
    """Which of the paper's qualitative cluster claims survive the baselines, those that do not first.

    Parameters
    ----------
    chemistry : :func:`elfutils.analysis.cluster_baselines.chemistry_scores` (with gap_iqr)
    lattices : :func:`motif_check`
    """
    mine, others = chemistry.loc[elf], chemistry.drop(index=elf)
    gap_rows = [n for n in others.index if n.startswith("band gap")]
    failed, held = [], []
    for motif, r in lattices.iterrows():
        claim = f"that {motif} sublattices form a well-defined, low-spread cluster (the check above)"
        (held if motif_holds(r) else failed).append(claim)
    chem = (f"that the clusters follow chemistry (anion families) beyond a clustering by the band gap or "
            f"the pixels (AMI {mine.ami:.3f} against at most {others.ami.max():.3f} for these, "
            f"{int(mine.n_dominated)} dominated clusters against at most {int(others.n_dominated.max())})")
    beyond = mine.ami > others.ami.max() and mine.n_dominated > others.n_dominated.max()
    (held if beyond else failed).append(chem)
    if gap_rows and "gap_iqr" in chemistry:
        tightest = others.loc[gap_rows].gap_iqr.min()
        alike = (f"that a cluster's narrow band-gap spread (Fig. 3) shows more than a grouping by the gap "
                 f"alone (median spread within a cluster {mine.gap_iqr:.3f} eV, by the gap alone "
                 f"{tightest:.3f} eV)")
        (failed if mine.gap_iqr > tightest else held).append(alike)
    text = []
    if failed:
        text.append("Not reproduced: the claim " + "; the claim ".join(failed) + ".")
    if held:
        text.append("Reproduced: the claim " + "; the claim ".join(held) + ".")
    return " ".join(text)
