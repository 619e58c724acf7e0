"""The registry of the paper's quantities: every number the paper quotes beside ours, defined once.

Each :class:`PaperQuantity` names the paper's value (the constant in :mod:`elfutils.constants`, "" for a claim
the paper makes in words), how ours is computed from the :class:`Outcomes` of the cached stages, the reason
for any difference, and the chapters that close with it. :data:`REGISTRY` is the list;
:func:`paper_vs_ours` renders all of it (the paper-vs-reproduction page) and :func:`chapter_comparison` the
entries of one chapter (its closing "paper beside ours" table). :func:`collect` runs only the stages that the
chosen entries read (:attr:`PaperQuantity.needs`), so a chapter's table costs what its own rows need.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from elfutils import constants as C
from elfutils.analysis import embedding_metrics, parameter_selection
from elfutils.book import measurements, verdict_text
from elfutils.book.wording import counted
from elfutils.nn.latent import line_fraction_bce


@dataclass
class Outcomes:
    """Everything the registry compares, as the cached stages return it (:func:`collect`).

    profile : the :class:`elfutils.book.profiles.Profile` used
    n_materials : materials encoded (rows of the fingerprint table)
    clustering : :func:`elfutils.book.pipeline.clustering` table (``attrs``: n_clusters, n_unclassified,
        dbscan_eps)
    n_pool, n_structures, n_computed : flat-band pool size, pool materials with a structure here, pool
        materials our GPAW batches have computed, in the flat-band store and the atlas store together
        (:func:`elfutils.dft.store_coverage.coverage_across_stores`; None when unknown)
    model_card : the model card (config, history, n_val ...), None when unknown
    pixel_fraction : mean of the training images (share of line pixels), None when unknown
    study : :func:`elfutils.book.pipeline.parameter_study` table, optional
    duplicates : :class:`elfutils.analysis.duplicates.DuplicateResult`, optional
    cnnf_labels : CNNF cluster per material (Series, index material_id), optional
    cnnf_localisation : :func:`elfutils.analysis.structure.localised_structural_clusters` table, optional
    embeddings : :func:`elfutils.analysis.embedding_metrics.embedding_agreement` table with "UMAP" and
        "t-SNE" rows, optional
    fig4_geometry : :func:`elfutils.book.measurements.fig4_geometry` table, optional
    square_octagon : the closeness dict of :func:`elfutils.book.measurements.square_octagon_survey`, optional
    chemistry : :func:`elfutils.analysis.chemistry.cluster_chemistry` of the clusters against
        :func:`elfutils.analysis.chemistry.chemistry_table`'s ``label``, optional
    nc4 : :func:`elfutils.book.measurements.nc4_check`, optional
    flat_bands : :func:`elfutils.analysis.cluster_statistics.cluster_variance_share` of the flat-band counts
        near E_F, with ``top`` (cluster -> mean count, richest first) added, optional
    architecture_study : :func:`elfutils.book.pipeline.architecture_study` (Supplementary Note 2), optional
    latent_walks : :func:`elfutils.book.measurements.latent_walk_study` (Fig. 6), optional
    """

    profile: object
    n_materials: int
    clustering: pd.DataFrame
    n_pool: int | None = None
    n_structures: int | None = None
    n_computed: int | None = None
    model_card: dict | None = None
    pixel_fraction: float | None = None
    study: pd.DataFrame | None = None
    duplicates: object | None = None
    cnnf_labels: pd.Series | None = None
    cnnf_localisation: pd.DataFrame | None = None
    embeddings: pd.DataFrame | None = None
    fig4_geometry: pd.DataFrame | None = None
    square_octagon: dict | None = None
    chemistry: dict | None = None
    nc4: dict | None = None
    flat_bands: dict | None = None
    architecture_study: pd.DataFrame | None = None
    latent_walks: object | None = None


@dataclass(frozen=True)
class PaperQuantity:
    """One number (or claim) of the paper beside ours.

    section : where the paper-vs-reproduction page lists it
    quantity : what is compared, in words
    constant : the name(s) in :mod:`elfutils.constants` holding the paper's value ("" for a claim in words)
    paper : the paper's value as the tables print it
    ours : outcomes -> (our value, explanation); the explanation is "same" when the two agree
    needs : the optional :class:`Outcomes` fields ``ours`` reads (what :func:`collect` must compute)
    chapters : the chapters (notebook names) whose closing table shows it
    kind : "input" (a setting or the data, which we copy from the paper where we can) or "outcome" (what the
        method produces from them); only outcomes test the paper's findings
    measure : outcomes -> (the paper's number, ours, what the numbers are) on one scale, for an outcome whose
        table values are words ("4 of 8 found"); None where there is no such number. Outcomes that are plain
        numbers on both sides need none (:func:`glance_table`)
    """

    section: str
    quantity: str
    constant: str
    paper: object
    ours: Callable[[Outcomes], tuple[object, str]]
    needs: tuple[str, ...] = ()
    chapters: tuple[str, ...] = ()
    kind: str = "outcome"
    measure: Callable[[Outcomes], tuple[float, float, str] | None] | None = None


KINDS = ("input", "outcome")
COLUMNS = ["section", "quantity", "kind", "constant", "paper", "ours", "explanation"]
NOT_COMPUTED = "not computed"
AGREES = r"same\b"  # an explanation that starts with "same" says ours is the paper's (:func:`agrees`)


def _same(a, b) -> bool:
    try:
        return bool(np.isclose(float(a), float(b)))
    except (TypeError, ValueError):
        return a == b


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _profile_choice(o: Outcomes, same: bool) -> str:
    return "same" if same else f"the {o.profile.name} profile's choice"


# --- data ---------------------------------------------------------------------------------------------------
def _materials(o: Outcomes):
    p, n = o.profile, int(o.n_materials)
    bits = []
    if o.n_pool is not None:
        bits.append(f"the flat-band pool holds {o.n_pool}")
    if o.n_structures is not None:
        bits.append(f"{o.n_structures} of them have a 2Dmatpedia structure here (the others are f-element "
                    "and Xe compounds missing from our structure source)")
    if o.n_computed is not None:
        bits.append(f"our GPAW batches have computed {o.n_computed} of them (the flat-band store and the "
                    "atlas store together)")
    bits.append(f"the {p.name} profile encodes {n}" + (f" ({p.description})" if p.name != "default" else ""))
    return n, "same" if n == C.PAPER_N_MATERIALS else "; ".join(bits)


# --- network ------------------------------------------------------------------------------------------------
def _config(o: Outcomes) -> dict:
    return (o.model_card or {}).get("config", {})


def _image_size(o: Outcomes):
    size = int(_config(o).get("image_size", o.profile.image_size))
    return size, "same" if size == C.IMAGE_SIZE else "another image size"


def _fingerprint_length(o: Outcomes):
    config = _config(o)
    side = int(config.get("image_size", o.profile.image_size)) // 32
    length = int(config.get("latent_channels", C.LATENT_CHANNELS)) * side * side
    return length, "same" if length == C.FINGERPRINT_LENGTH else "another latent size"


def _encoder(o: Outcomes):
    backbone = _config(o).get("backbone", o.profile.backbone)
    return backbone, "same" if backbone == C.BACKBONE else f"the {o.profile.name} profile's trunk"


def _history(o: Outcomes) -> list[dict]:
    return (o.model_card or {}).get("history") or []


def _epochs(o: Outcomes):
    history = _history(o)
    if not history:
        return NOT_COMPUTED, "no model card"
    epochs = len(history)
    return epochs, ("same" if epochs == C.EPOCHS
                    else f"the {o.profile.name} profile trains {_config(o).get('epochs', epochs)}")


def _train_bce(o: Outcomes):
    history = _history(o)
    if not history:
        return NOT_COMPUTED, "no model card"
    why = []
    if o.pixel_fraction is not None:
        why.append(f"BCE depends on how much of an image is line: {_pct(o.pixel_fraction)} of our pixels "
                   "are, and always predicting that share scores "
                   f"{line_fraction_bce(o.pixel_fraction):.3f}; "
                   "the paper's images (VASP bands, their line width) are not available to measure theirs")
    if len(history) < C.EPOCHS:
        why.append(f"trained for {counted(len(history), 'epoch')}, not {C.EPOCHS}")
    return round(float(history[-1]["train_bce"]), 3), "; ".join(why) or "same"


def validation_gaps(history) -> pd.Series:
    """The validation BCE relative to the training BCE, epoch by epoch ((val - train) / train), indexed by
    epoch (1, 2, ... where the history does not number them); epochs without a validation loss are left out.

    Parameters
    ----------
    history : the model card's history (a list of dicts) or :func:`elfutils.book.pipeline.model_history`
    """
    rows = history.to_dict("records") if isinstance(history, pd.DataFrame) else list(history)
    gaps = {int(h.get("epoch", i)): (float(h["val_bce"]) - float(h["train_bce"])) / float(h["train_bce"])
            for i, h in enumerate(rows, start=1)
            if h.get("val_bce") is not None and not pd.isna(h["val_bce"])}
    return pd.Series(gaps, dtype=float, name="validation_gap").rename_axis("epoch")


def validation_verdict(history, tolerance: float = C.PAPER_VALIDATION_TOLERANCE) -> str:
    """One sentence: does the validation BCE stay within ``tolerance`` of the training BCE in every epoch, as
    the paper's did "throughout"? A negative answer comes first."""
    gaps = validation_gaps(history)
    if gaps.empty:
        return "Without a validation set there is no validation loss to compare with the paper's."
    outside = gaps[gaps.abs() > tolerance]
    worst = gaps.abs().idxmax()
    limit = f"{100 * tolerance:g}%"
    if outside.empty:
        return (f"Like the paper's, our validation loss stays within {limit} of the training loss in every "
                f"one of the {len(gaps)} epochs (largest gap {100 * gaps[worst]:+.1f}% at epoch {worst}).")
    epochs = [str(e) for e in outside.index]
    listed = epochs[0] if len(epochs) == 1 else ", ".join(epochs[:-1]) + " and " + epochs[-1]
    return (f"Unlike the paper's, our validation loss does not stay within {limit} of the training loss "
            f"throughout: it is outside in {len(outside)} of the {len(gaps)} epochs "
            f"(epoch{'s' if len(epochs) > 1 else ''} {listed}), by up to {100 * gaps[worst]:+.1f}% at epoch "
            f"{worst}, and ends at {100 * gaps.iloc[-1]:+.1f}%.")


def _validation(o: Outcomes):
    history = _history(o)
    if not history:
        return NOT_COMPUTED, "no model card"
    last = history[-1]
    val = last.get("val_bce")
    if val is None:
        return "no validation set", "validation_fraction = 0"
    rel = (float(val) - float(last["train_bce"])) / float(last["train_bce"])
    within = abs(rel) <= C.PAPER_VALIDATION_TOLERANCE
    n_val = (o.model_card or {}).get("n_val")
    detail = (f"last epoch: validation {float(val):.3f} vs training {float(last['train_bce']):.3f} "
              f"(noised inputs, as in training){f' on {n_val} held-out images' if n_val else ''}")
    if rel < 0:
        detail += ("; validation below training, in part because the training BCE is averaged over an "
                   "epoch during which the weights still improve")
    # the paper: "remained within 5% of the training loss throughout the training process"
    gaps = validation_gaps(history)
    worst = gaps.abs().idxmax()
    n_within = int((gaps.abs() <= C.PAPER_VALIDATION_TOLERANCE).sum())
    detail += (f"; over the whole training (the paper: \"throughout\") within {n_within} of "
               f"{len(gaps)} epochs, largest gap {gaps[worst]:+.1%} at epoch {worst}")
    if not within:
        return f"outside: {rel:+.1%}", detail
    if n_within < len(gaps):  # within at the end, but not throughout as the paper's
        return (f"not throughout: outside in {len(gaps) - n_within} of {len(gaps)} epochs, up to "
                f"{gaps[worst]:+.1%}; last {rel:+.1%}", detail)
    return f"within: {rel:+.1%}", detail


def _validation_measure(o: Outcomes):
    gaps = validation_gaps(_history(o))
    if gaps.empty:
        return None
    share = float((gaps.abs() <= C.PAPER_VALIDATION_TOLERANCE).mean())
    return 1.0, share, f"share of epochs with validation within {_pct(C.PAPER_VALIDATION_TOLERANCE)}"


# --- clustering ---------------------------------------------------------------------------------------------
PAPER_NC_NS = (C.HDBSCAN_MIN_CLUSTER_SIZE, C.HDBSCAN_MIN_SAMPLES)


def _nc_ns(o: Outcomes):
    p = o.profile
    ours = (p.min_cluster_size, p.min_samples)
    why = "same" if ours == PAPER_NC_NS else (f"set by the {p.name} profile"
                                              + (f" ({p.description})" if p.description else ""))
    return f"({ours[0]}, {ours[1]})", why


def _minkowski(o: Outcomes):
    return o.profile.minkowski_p, _profile_choice(o, _same(o.profile.minkowski_p, C.MINKOWSKI_P))


def _rule(o: Outcomes):
    if o.study is None or o.study.empty:
        return NOT_COMPUTED, "no parameter study"
    judged = parameter_selection.apply_selection_rule(o.study)
    chosen = judged[judged["chosen"]]
    ncs, nss = sorted(judged["min_cluster_size"].unique()), sorted(judged["min_samples"].unique())
    if chosen.empty:
        return "none qualifies", (f"no setting of the grid (Nc {ncs[0]}..{ncs[-1]} x Ns {nss[0]}..{nss[-1]}) "
                                  "gives two or more clusters with a DBCV")
    row = chosen.iloc[0]
    verdict = verdict_text.paper_choice_verdict(judged, PAPER_NC_NS)
    verdict = verdict[0].lower() + verdict[1:].rstrip(".")
    return (f"({int(row['min_cluster_size'])}, {int(row['min_samples'])})",
            f"rule: {judged.attrs['rule']}; {verdict}")


def _labels(o: Outcomes) -> np.ndarray:
    return o.clustering["hdbscan_label"].to_numpy() if "hdbscan_label" in o.clustering else np.array([])


def _n_clusters(o: Outcomes):
    labels, n = _labels(o), max(int(o.n_materials), 1)
    counted = int(labels.max()) + 1 if (labels >= 0).any() else 0
    n_clusters = int(o.clustering.attrs.get("n_clusters", counted))
    p = o.profile
    scale = (f"HDBSCAN's cluster count grows with the number of materials: per 1000 materials the paper has "
             f"{1000 * C.PAPER_N_CLUSTERS / C.PAPER_N_MATERIALS:.1f}, we have {1000 * n_clusters / n:.1f}")
    if (p.min_cluster_size, p.min_samples) != PAPER_NC_NS:
        scale += f", with Nc = {p.min_cluster_size}, Ns = {p.min_samples}"
    return n_clusters, "same" if n_clusters == C.PAPER_N_CLUSTERS else scale


def _n_unclassified(o: Outcomes):
    n_unclassified = int(o.clustering.attrs.get("n_unclassified", int((_labels(o) < 0).sum())))
    paper_share = C.PAPER_N_UNCLASSIFIED / C.PAPER_N_MATERIALS
    ours_share = n_unclassified / max(int(o.n_materials), 1)
    return n_unclassified, ("same" if n_unclassified == C.PAPER_N_UNCLASSIFIED else
                            f"as a share of the materials: paper {_pct(paper_share)}, "
                            f"ours {_pct(ours_share)}")


N_CO_CLUSTERED_PAIRS = sum(len(p) for _, _, p in C.PAPER_CO_CLUSTERED.values())


def _co_clustered(o: Outcomes):
    """The paper's named co-clustered materials (InAs with AlBi, TlBi, ...): how many pairs share our
    cluster."""
    check = measurements.co_cluster_check(o.clustering) if "hdbscan_label" in o.clustering else None
    present = int(check.in_data.sum()) if check is not None else 0
    together = int(check.same_cluster.sum()) if check is not None else 0
    return f"{together} of {present}", (
        f"{present} of the {N_CO_CLUSTERED_PAIRS} pairs have both materials in this build's data"
        + (f"; {together} of those share an HDBSCAN cluster" if present else ""))


def _chemistry(o: Outcomes):
    """The paper's chemical reading of its clusters (halide and transition-metal chalcogenide clusters)."""
    from elfutils.analysis.chemistry import (
        DOMINANT_SHARE,
        dominated_by_class,
        halide_and_chalcogenide_clusters,
    )

    if o.chemistry is None:
        return NOT_COMPUTED, "no chemistry"
    chem = o.chemistry
    halide, tmc = halide_and_chalcogenide_clusters(dominated_by_class(chem))
    return f"{chem['n_dominated']} of {chem['n_clusters']}", (
        f"cluster numbers are arbitrary; counted instead: {halide} halide-dominated and {tmc} "
        f"transition-metal-chalcogenide-dominated clusters (>= {DOMINANT_SHARE:.0%} of members, "
        "elfutils.analysis.chemistry); "
        f"{chem['n_dominated']} of {chem['n_clusters']} clusters are dominated by one class against "
        f"{chem['expected_dominated']:.1f} for random clusters (p = {chem['p_value']:.3f}), adjusted mutual "
        f"information {chem['ami']:.2f}")


def _flat_bands(o: Outcomes):
    """The paper's clusters of dense flat bands near E_F: do our clusters gather such materials?"""
    if o.flat_bands is None:
        return NOT_COMPUTED, "no band structures"
    fb = o.flat_bands
    top = ", ".join(f"{c} ({m:.1f})" for c, m in list(fb.get("top", {}).items())[:3]) or "none"
    return f"richest: {top}", (
        "cluster numbers are arbitrary; ours ranked by the mean count of flat bands near E_F "
        "(BandStructure.flat_band_count); between clusters lies a share "
        f"{fb['eta2']:.2f} of the count's spread against {fb['expected_eta2']:.2f} for shuffled counts "
        f"(p = {fb['p_value']:.3f})")


def _nc4(o: Outcomes):
    """The paper's Nc = 4 cluster of four rare-earth trifluorides."""
    if o.nc4 is None:
        return NOT_COMPUTED, "no fingerprints"
    nc4 = o.nc4
    missing = "; ".join(f"{C.PAPER_NC4_CLUSTER[m]} ({m}): {why}" for m, why in nc4["absent"].items())
    if nc4["same_cluster"] is None:
        why = "fewer than two of them are in our data, so there is nothing to cluster"
        return (f"{len(nc4['present'])} of {len(C.PAPER_NC4_CLUSTER)} in our data",
                why + (f": {missing}" if missing else ""))
    ours = (f"{len(nc4['present'])} present, " + ("in one cluster" if nc4["same_cluster"] else
                                                   f"clusters {sorted(set(nc4['labels'].values()))}"))
    why = f"HDBSCAN refitted with Nc = {C.PAPER_NC4_MIN_CLUSTER_SIZE}"
    return ours, why + (f"; missing: {missing}" if missing else "")


def _cluster_numbers(_o: Outcomes):
    return "labels of our own clusters", (
        "cluster numbers are arbitrary labels of one HDBSCAN run; the Fig. 3 and Fig. 5 chapters compare "
        "contents (exemplars, co-clustered materials, motifs), not numbers")


def _umap(o: Outcomes):
    p = o.profile
    same = (p.umap_n_neighbors, p.umap_min_dist) == (C.UMAP_N_NEIGHBORS, C.UMAP_MIN_DIST)
    return f"({p.umap_n_neighbors}, {p.umap_min_dist})", _profile_choice(o, same)


def _dbscan_eps(o: Outcomes):
    eps = o.clustering.attrs.get("dbscan_eps", float("nan"))
    text = f"{eps:.3g}" if isinstance(eps, int | float) and np.isfinite(eps) else "undefined"
    return text, ("the paper's two values are in the units of its own UMAP plot and contradict each other; "
                  "we take the knee of the k-distance curve of our embedding "
                  "(elfutils.analysis.cluster.knee_eps)" if o.profile.dbscan_eps == "knee"
                  else f"set by the {o.profile.name} profile")


def _dbscan_min_samples(o: Outcomes):
    ours = o.profile.dbscan_min_samples
    return ours, _profile_choice(o, ours == C.DBSCAN_MIN_SAMPLES)


def _dbscan_groups(o: Outcomes):
    if "dbscan_group" not in o.clustering:
        return NOT_COMPUTED, "no DBSCAN groups"
    groups = o.clustering["dbscan_group"].to_numpy()
    return int(groups.max()) + 1 if len(groups) and groups.max() >= 0 else 0, (
        "the paper highlights groups of its map without counting them; ours are DBSCAN's on our UMAP plane "
        "with the eps above")


def _embeddings(o: Outcomes):
    e = o.embeddings
    if e is None or not {"UMAP", "t-SNE"} <= set(e.index):
        return NOT_COMPUTED, "no embeddings"
    u, t = e.loc["UMAP"], e.loc["t-SNE"]
    better = "t-SNE" if t["trustworthiness"] > u["trustworthiness"] else "UMAP"
    return (f"trustworthiness UMAP {u['trustworthiness']:.3f}, t-SNE {t['trustworthiness']:.3f}; kept "
            f"UMAP {u['knn_preserved']:.2f}, t-SNE {t['knn_preserved']:.2f}",
            f"the paper gives no measure; ours (k = {e.attrs.get('k', '?')}) favours {better} by "
            f"{abs(t['trustworthiness'] - u['trustworthiness']):.3f} in trustworthiness")


# --- architectures (Supplementary Note 2) ------------------------------------------------------------------
PAPER_TRUNKS = ("resnet18", "resnet34", "resnet50")  # "We also tested ResNet34 and ResNet50 as backbones"


def _trunks(o: Outcomes):
    s = o.architecture_study
    if s is None or s.empty:
        return NOT_COMPUTED, "no architecture study"
    ours = tuple(dict.fromkeys(s["backbone"]))
    return ", ".join(ours), ("same" if set(ours) == set(PAPER_TRUNKS) else
                             f"the {o.profile.name} profile's variants (architecture_variants)")


def paper_network(study: pd.DataFrame) -> pd.Series:
    """The study's row of the paper's network (its trunk and latent channels; else the first variant)."""
    paper_like = (study.backbone == C.BACKBONE) & (study.latent_channels == C.LATENT_CHANNELS)
    return study[paper_like].iloc[0] if paper_like.any() else study.iloc[0]


def vs_paper_network(study: pd.DataFrame) -> pd.Series:
    """Each variant's validation BCE against :func:`paper_network`'s, in percent: negative is a lower
    loss."""
    ref = paper_network(study)
    return pd.Series(100 * (study.val_bce.to_numpy() / ref.val_bce - 1), index=study.variant,
                     name="val_vs_reference_percent")


def _deeper_trunks(o: Outcomes):
    s = o.architecture_study
    if s is None or s.empty:
        return NOT_COMPUTED, "no architecture study"
    change = vs_paper_network(s)
    deeper = s[(s.latent_channels == C.LATENT_CHANNELS) & (s.backbone != C.BACKBONE)]
    ours = ", ".join(f"{b}: {change[v]:+.1f}%" for b, v in zip(deeper.backbone, deeper.variant, strict=True))
    epochs = int(s.epochs.iloc[0])
    why = "validation BCE against ResNet18's; the paper gives no numbers"
    if epochs < C.EPOCHS:
        why += (f"; after {counted(epochs, 'epoch')} each (the paper trains {C.EPOCHS}) a deeper network may "
                "only be further from convergence")
    return ours or "no deeper trunk trained", why


def _architecture_epochs(o: Outcomes):
    s = o.architecture_study
    if s is None or s.empty:
        return NOT_COMPUTED, "no architecture study"
    epochs = int(s.epochs.iloc[0])
    return epochs, ("same" if epochs == C.EPOCHS else
                    f"a budget the {o.profile.name} profile sets (architecture_epochs): {len(s)} networks of "
                    f"{C.EPOCHS} epochs each take hours on a CPU")


# --- structure ----------------------------------------------------------------------------------------------
N_FIG4_NAMED = 1 + len(C.PAPER_CO_CLUSTERED["2dm-2474"][2])  # InAs and its named cluster partners


def _fig4(o: Outcomes):
    """The paper's Fig. 4: TlBi and TlSb skewed, the rest of cluster 20 symmetric square-octagon nets."""
    if o.fig4_geometry is None:
        return NOT_COMPUTED, "no structures"
    g = o.fig4_geometry
    why = ("measured on the 2Dmatpedia structures (elfutils.analysis.structure.bond_geometry): smallest "
           "in-plane bond " + ", ".join(f"{g.formula[m]} {g.smallest_angle[m]:.0f}°" for m in g.index))
    so = o.square_octagon
    if so and so.get("n", 0) >= 2:
        why += (f"; the {so['n']} square-octagon layers in our data fall into "
                f"{counted(so['n_clusters'], 'cluster')}, "
                f"their median fingerprint distance is {so['ratio']:.2f} x that of all pairs (permutation p "
                f"= {so['p_value']:.3f})")
    return f"{int(g.agrees.sum())} of {len(g)} agree", why


def _cnnf_clusters(o: Outcomes):
    if o.cnnf_labels is None:
        return NOT_COMPUTED, "no structural fingerprints"
    labels = np.asarray(o.cnnf_labels)
    n_cnnf = len(np.unique(labels[labels >= 0]))
    p = o.profile
    return n_cnnf, ("same" if n_cnnf == C.PAPER_N_CNNF_CLUSTERS else
                    f"{len(labels)} of our materials have a sublattice CNNF (paper: {C.PAPER_N_MATERIALS}); "
                    f"HDBSCAN with Nc = {p.min_cluster_size}, Ns = {p.min_samples}, Euclidean (the paper "
                    "does not give its settings for this step)")


def _cnnf_localised(o: Outcomes):
    from elfutils.analysis.structure import LINK_RADIUS_FRACTION

    if o.cnnf_labels is None:
        return NOT_COMPUTED, "no structural fingerprints"
    loc = o.cnnf_localisation
    if loc is None:
        return NOT_COMPUTED, "no elf map"
    n_loc = int(loc["localised"].sum()) if len(loc) else 0
    radius = loc.attrs.get("radius", float("nan"))
    return f"{n_loc} of {len(loc)}", (
        f"criterion (the paper's is by eye): at least {C.CNNF_LOCALISED_MIN_MEMBERS} members of a CNNF "
        f"cluster linked on the UMAP within {radius:.3g} ({LINK_RADIUS_FRACTION:.0%} of the map's extent) "
        "into an island at most a quarter of the map across that holds a quarter of the cluster "
        "(elfutils.analysis.structure); "
        f"{_pct(n_loc / len(loc)) if len(loc) else 'n/a'} of ours vs "
        f"{_pct(C.PAPER_N_CNNF_LOCALISED / C.PAPER_N_CNNF_CLUSTERS)} of the paper's")


# --- duplicates ---------------------------------------------------------------------------------------------
def _duplicate_entries(o: Outcomes):
    d = o.duplicates
    if d is None:
        return NOT_COMPUTED, "no duplicate search"
    n_same = len(d.all_pairs) if getattr(d, "all_pairs", None) is not None else None
    return d.candidate_entries, (
        f"materials in {len(d.candidates)} candidate pairs: same formula and fingerprint distance <= "
        f"{d.in_nn_units(d.threshold):.3f} times the median nearest-neighbour distance, {d.threshold_rule} "
        "(the paper gives no threshold)"
        + (f"; {n_same} same-formula pairs in our data" if n_same is not None else ""))


def _table1(o: Outcomes):
    from elfutils.book.structure_match import label_check, mislabelled

    d = o.duplicates
    if d is None:
        return NOT_COMPUTED, "no duplicate search"
    n_pairs, t1 = len(C.PAPER_TABLE1_DUPLICATES), d.table1
    present, found = int(t1["present"].sum()), int(t1["found"].sum())
    why = (f"{present} of the {n_pairs} pairs have both materials in our data"
           + (f"; absent: {', '.join(t1.loc[~t1['present'], 'formula'])}" if present < n_pairs else ""))
    missed = t1[t1["present"] & ~t1["found"]]
    if present and len(missed):
        why += f"; present but not within the threshold: {', '.join(missed['formula'])}"
    wrong = mislabelled(label_check(C.PAPER_TABLE1_DUPLICATES))
    if wrong:
        why += f"; the paper's labels against 2Dmatpedia's formulas: {wrong}"
    if present == n_pairs:
        return f"{found} of {n_pairs} found (all present)", why
    return f"{found} of {present} present", why


def _share_measure(field: str, what: str):
    """measure: the paper's claim holds for every named item (1.0) against the share of ours for which it
    does, from ``ours``'s "k of n ..." count (k and n read from the outcome, not from the text)."""
    def measure(o: Outcomes):
        counted = _counts(o, field)
        return None if counted is None or counted[1] == 0 else (1.0, counted[0] / counted[1], what)
    return measure


def _counts(o: Outcomes, field: str) -> tuple[int, int] | None:
    """(k, n) behind an outcome's "k of n": Table 1 pairs found of the paper's, Fig. 4 layers agreeing, the
    paper's named pairs co-clustered (of all it names)."""
    if field == "table1" and o.duplicates is not None:
        return int(o.duplicates.table1["found"].sum()), len(C.PAPER_TABLE1_DUPLICATES)
    if field == "fig4" and o.fig4_geometry is not None:
        return int(o.fig4_geometry["agrees"].sum()), len(o.fig4_geometry)
    if field == "co_clustered" and "hdbscan_label" in o.clustering:
        check = measurements.co_cluster_check(o.clustering)
        return int(check.same_cluster.sum()), N_CO_CLUSTERED_PAIRS
    return None


def _cnnf_localised_measure(o: Outcomes):
    loc = o.cnnf_localisation
    if o.cnnf_labels is None or loc is None or not len(loc):
        return None
    return (C.PAPER_N_CNNF_LOCALISED / C.PAPER_N_CNNF_CLUSTERS, float(loc["localised"].mean()),
            "share of CNNF clusters localised on the map")


def _unclassified_measure(o: Outcomes):
    n_unclassified = int(o.clustering.attrs.get("n_unclassified", int((_labels(o) < 0).sum())))
    return (C.PAPER_N_UNCLASSIFIED / C.PAPER_N_MATERIALS, n_unclassified / max(int(o.n_materials), 1),
            "share of materials unclassified")


def _nc4_measure(o: Outcomes):
    if o.nc4 is None or o.nc4.get("same_cluster") is None:
        return None
    return 1.0, float(bool(o.nc4["same_cluster"])), "the four in one cluster (1 = yes)"


def _duplicates_measure(o: Outcomes):
    if o.duplicates is None:
        return None
    return float(C.PAPER_MAX_DUPLICATES), float(o.duplicates.candidate_entries), "candidate duplicate entries"


# --- latent space (Fig. 6) ---------------------------------------------------------------------------------
PAPER_WALK_FORMULA = "IrF2"  # Fig. 6: "the band structure of 2dm-1 (IrF2)"


def _walked_material(o: Outcomes):
    if o.latent_walks is None:
        return NOT_COMPUTED, "walks not computed"
    info = o.latent_walks.info
    same = info["material_id"] == C.LATENT_WALK_MATERIAL and info["formula"] == PAPER_WALK_FORMULA
    return (f"{info['material_id']} ({info['formula']})",
            f"{'same material' if same else 'another material'}; its image is {info['split']}, "
            f"from {info['source']}")


def _walked_channel(o: Outcomes):
    if o.latent_walks is None:
        return NOT_COMPUTED, "walks not computed"
    channels = {w.channel for w in o.latent_walks.walks}
    ours = ", ".join(f"channel {c + 1} (index {c})" for c in sorted(channels))
    return ours, "same" if channels == {C.LATENT_WALK_CHANNEL} else "another channel"


def _walk_spec(spec) -> str:
    (row, col), (low, high) = spec
    return f"({row},{col}), Δ {low} to {high}"


def _walk(index: int):
    def ours(o: Outcomes):
        if o.latent_walks is None:
            return NOT_COMPUTED, "walks not computed"
        study, label = o.latent_walks, measurements.WALK_LABELS[index]
        walk = study.walks[index]
        deltas = walk.nominal_deltas
        last, scaled = study.largest_steps().loc[label], study.largest_steps(scaled=True).loc[label]
        value = (f"({walk.position[0]},{walk.position[1]}), Δ {deltas[1]:g} to {deltas[-1]:g} in "
                 f"{len(deltas) - 1} steps")
        (position, (low, high)) = C.LATENT_WALK_SPECS[index]
        same = (tuple(walk.position) == tuple(position) and np.isclose(deltas[1], low)
                and np.isclose(deltas[-1], high))
        return value, (("same position and range; " if same else "another position or range; ")
                       + f"the paper shows the decoded images only; ours: {last['changed (%)']:.2f}% of the "
                       f"pixels change at Δ = {deltas[-1]:g} ({last['Δ / σ']:.2f} σ of that number over our "
                       f"materials); at Δ = {deltas[-1]:g} σ = {scaled['Δ']:.3g}, "
                       f"{scaled['changed (%)']:.2f}% change")
    return ours


# --- the registry -------------------------------------------------------------------------------------------
Q = PaperQuantity
S = functools.partial(PaperQuantity, kind="input")  # an input: a setting, or the data
REGISTRY: tuple[PaperQuantity, ...] = (
    S("Data", "flat-band materials encoded", "PAPER_N_MATERIALS", C.PAPER_N_MATERIALS, _materials,
      ("n_pool", "n_structures", "n_computed"),
      ("fig1_training", "fig2_fingerprint_space", "fig5_structure", "table1_duplicates")),
    S("Network", "image size (px)", "IMAGE_SIZE", C.IMAGE_SIZE, _image_size, ("model_card",),
      ("fig1_training",)),
    S("Network", "encoder trunk", "BACKBONE", C.BACKBONE, _encoder, ("model_card",), ("fig1_training",)),
    S("Network", "fingerprint length", "FINGERPRINT_LENGTH", C.FINGERPRINT_LENGTH, _fingerprint_length,
      ("model_card",), ("fig1_training",)),
    S("Network", "epochs", "EPOCHS", C.EPOCHS, _epochs, ("model_card",), ("fig1_training",)),
    Q("Network", "training BCE after the last epoch", "PAPER_TRAIN_BCE", C.PAPER_TRAIN_BCE, _train_bce,
      ("model_card", "pixel_fraction"), ("fig1_training",)),
    Q("Network", "validation BCE within 5% of training", "PAPER_VALIDATION_TOLERANCE",
      f"within {_pct(C.PAPER_VALIDATION_TOLERANCE)} throughout", _validation, ("model_card",),
      ("fig1_training",), measure=_validation_measure),
    S("Clustering", "HDBSCAN (Nc, Ns)", "HDBSCAN_MIN_CLUSTER_SIZE, HDBSCAN_MIN_SAMPLES",
      f"({PAPER_NC_NS[0]}, {PAPER_NC_NS[1]})", _nc_ns, (),
      ("fig2_fingerprint_space", "fig7_parameter_study")),
    S("Clustering", "Minkowski exponent p", "MINKOWSKI_P", C.MINKOWSKI_P, _minkowski, (),
      ("fig2_fingerprint_space",)),
    Q("Clustering", "(Nc, Ns) by the paper's reasoning applied to the Fig. 7 grid", "",
      f"({PAPER_NC_NS[0]}, {PAPER_NC_NS[1]})", _rule, ("study",), ("fig7_parameter_study",)),
    Q("Clustering", "HDBSCAN clusters", "PAPER_N_CLUSTERS", C.PAPER_N_CLUSTERS, _n_clusters, (),
      ("fig2_fingerprint_space", "fig7_parameter_study")),
    Q("Clustering", "unclassified materials", "PAPER_N_UNCLASSIFIED", C.PAPER_N_UNCLASSIFIED, _n_unclassified,
      (), ("fig2_fingerprint_space", "fig7_parameter_study"), measure=_unclassified_measure),
    Q("Clustering", "paper's co-clustered pairs (InAs, Bi2O3 clusters) in one cluster", "PAPER_CO_CLUSTERED",
      f"{N_CO_CLUSTERED_PAIRS} of {N_CO_CLUSTERED_PAIRS}", _co_clustered, (), ("fig3_exemplars",),
      measure=_share_measure("co_clustered", "share of the paper's named pairs in one cluster")),
    Q("Clustering", "clusters dominated by one anion family", "PAPER_CHEMISTRY_CLUSTERS",
      "; ".join(f"{kind}: clusters {', '.join(map(str, c))}"
                for kind, c in C.PAPER_CHEMISTRY_CLUSTERS.items()),
      _chemistry, ("chemistry",), ("fig2_fingerprint_space",)),
    Q("Clustering", "clusters with dense flat bands near E_F", "PAPER_FLAT_BAND_CLUSTERS",
      f"clusters {', '.join(map(str, C.PAPER_FLAT_BAND_CLUSTERS))}", _flat_bands, ("flat_bands",),
      ("fig2_fingerprint_space",)),
    Q("Clustering", f"one cluster at Nc = {C.PAPER_NC4_MIN_CLUSTER_SIZE}: "
      f"{', '.join(C.PAPER_NC4_CLUSTER.values())}", "PAPER_NC4_CLUSTER, PAPER_NC4_MIN_CLUSTER_SIZE",
      f"{len(C.PAPER_NC4_CLUSTER)} in one cluster", _nc4, ("nc4",), ("fig3_exemplars",),
      measure=_nc4_measure),
    Q("Clustering", "cluster numbers of Fig. 3 and Fig. 5", "PAPER_FIG3_CLUSTERS, PAPER_FIG5_MOTIFS",
      f"Fig. 3: {', '.join(map(str, C.PAPER_FIG3_CLUSTERS))}; Fig. 5: "
      + ", ".join(f"{k} {v}" for k, v in C.PAPER_FIG5_MOTIFS.items()), _cluster_numbers, (),
      ("fig3_exemplars", "fig5_structure")),
    S("Clustering", "UMAP (NN, MD)", "UMAP_N_NEIGHBORS, UMAP_MIN_DIST",
      f"({C.UMAP_N_NEIGHBORS}, {C.UMAP_MIN_DIST})", _umap, (), ("fig2_fingerprint_space",)),
    S("Clustering", "DBSCAN eps on the UMAP plane", "DBSCAN_EPS_RESULTS, DBSCAN_EPS_METHODS",
      f"{C.DBSCAN_EPS_RESULTS} (Results) / {C.DBSCAN_EPS_METHODS:g} (Methods)", _dbscan_eps, (),
      ("fig2_fingerprint_space",)),
    S("Clustering", "DBSCAN minimum samples", "DBSCAN_MIN_SAMPLES", C.DBSCAN_MIN_SAMPLES, _dbscan_min_samples,
      (), ("fig2_fingerprint_space",)),
    Q("Clustering", "DBSCAN groups on the UMAP plane", "", "not stated (seven highlighted, Fig. 2b-h)",
      _dbscan_groups, (), ("fig2_fingerprint_space",)),
    Q("Embeddings", "t-SNE vs UMAP (trustworthiness, k nearest neighbours kept)", "",
      "no significant improvement with t-SNE", _embeddings, ("embeddings",), ("supp_tsne",)),
    S("Architectures (Suppl. Note 2)", "encoder trunks compared", "", ", ".join(PAPER_TRUNKS), _trunks,
      ("architecture_study",), ("supp_architectures",)),
    Q("Architectures (Suppl. Note 2)", "deeper trunk vs ResNet18, validation BCE", "",
      "no significant improvement", _deeper_trunks, ("architecture_study",), ("supp_architectures",)),
    S("Architectures (Suppl. Note 2)", "epochs per variant", "EPOCHS", C.EPOCHS, _architecture_epochs,
      ("architecture_study",), ("supp_architectures",)),
    Q("Structure (Fig. 4)", "square-octagon layers of the InAs cluster: TlBi and TlSb skewed",
      "PAPER_FIG4_SKEWED", f"{len(C.PAPER_FIG4_SKEWED)} skewed; the other "
      f"{N_FIG4_NAMED - len(C.PAPER_FIG4_SKEWED)} named symmetric (our reading; schematic)", _fig4,
      ("fig4_geometry", "square_octagon"), ("fig4_square_octagon",),
      measure=_share_measure("fig4", "share of the named layers whose geometry matches the drawing")),
    Q("Structure (Fig. 5)", "CNNF clusters", "PAPER_N_CNNF_CLUSTERS", C.PAPER_N_CNNF_CLUSTERS, _cnnf_clusters,
      ("cnnf_labels",), ("fig5_structure",)),
    Q("Structure (Fig. 5)", "CNNF clusters localised on the elf map", "PAPER_N_CNNF_LOCALISED",
      f"{C.PAPER_N_CNNF_LOCALISED} of {C.PAPER_N_CNNF_CLUSTERS}", _cnnf_localised,
      ("cnnf_labels", "cnnf_localisation"), ("fig5_structure",), measure=_cnnf_localised_measure),
    S("Latent space (Fig. 6)", "material walked", "LATENT_WALK_MATERIAL",
      f"{C.LATENT_WALK_MATERIAL} ({PAPER_WALK_FORMULA})", _walked_material, ("latent_walks",),
      ("fig6_latent_space",)),
    S("Latent space (Fig. 6)", "latent channel walked", "LATENT_WALK_CHANNEL",
      f"channel {C.LATENT_WALK_CHANNEL + 1}", _walked_channel, ("latent_walks",), ("fig6_latent_space",)),
    *(S("Latent space (Fig. 6)", f"walk {label}: position, Δ range", "LATENT_WALK_SPECS",
        _walk_spec(spec), _walk(i), ("latent_walks",), ("fig6_latent_space",))
      for i, (label, spec) in enumerate(zip(measurements.WALK_LABELS, C.LATENT_WALK_SPECS, strict=True))),
    Q("Duplicates (Table 1)", "candidate duplicate entries", "PAPER_MAX_DUPLICATES",
      f"up to {C.PAPER_MAX_DUPLICATES}", _duplicate_entries, ("duplicates",), ("table1_duplicates",),
      measure=_duplicates_measure),
    Q("Duplicates (Table 1)", "Table 1 pairs found", "PAPER_TABLE1_DUPLICATES",
      f"{len(C.PAPER_TABLE1_DUPLICATES)} pairs", _table1, ("duplicates",), ("table1_duplicates",),
      measure=_share_measure("table1", "share of the Table 1 pairs found")),
)
del Q, S


def entries_of(chapter: str) -> list[PaperQuantity]:
    """The registry entries a chapter closes with; ValueError for a chapter that has none."""
    chosen = [q for q in REGISTRY if chapter in q.chapters]
    if not chosen:
        named = sorted({c for q in REGISTRY for c in q.chapters})
        raise ValueError(f"no paper quantities for chapter {chapter!r}; chapters with some: "
                         f"{', '.join(named)}")
    return chosen


def paper_vs_ours(o: Outcomes, entries: Iterable[PaperQuantity] = REGISTRY) -> pd.DataFrame:
    """The entries (default: all) beside ours: columns section, quantity, kind, constant, paper, ours,
    explanation."""
    rows = [(q.section, q.quantity, q.kind, q.constant, q.paper, *q.ours(o)) for q in entries]
    return pd.DataFrame(rows, columns=COLUMNS)


def agrees(comparison: pd.DataFrame, glance: pd.DataFrame | None = None) -> pd.Series:
    """Rows of :func:`paper_vs_ours` where ours is the paper's: the explanation starts with "same", or (given
    :func:`glance_table`) the row's measure is the paper's number ("5 of 5 agree" against the paper's all)."""
    same = comparison["explanation"].astype(str).str.match(AGREES)
    if glance is not None and len(glance):
        equal = set(glance.loc[np.isclose(glance["our_value"], glance["paper_value"]), "quantity"])
        same |= comparison["quantity"].isin(equal)
    return same


def agreement_counts(comparison: pd.DataFrame, glance: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows and agreeing rows (:func:`agrees`) of :func:`paper_vs_ours` per kind (index: :data:`KINDS`;
    columns rows, agree)."""
    same = agrees(comparison, glance)
    return pd.DataFrame({"rows": [int((comparison["kind"] == k).sum()) for k in KINDS],
                         "agree": [int(same[comparison["kind"] == k].sum()) for k in KINDS]},
                        index=list(KINDS))


def _number(value) -> float | None:
    if isinstance(value, bool | np.bool_):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def glance_table(o: Outcomes, entries: Iterable[PaperQuantity] = REGISTRY, kind: str | None = "outcome"
                 ) -> pd.DataFrame:
    """Every entry (of ``kind``; None: all) with a number on both sides: the entry's ``measure``, else its
    paper and our values where both are plain numbers.

    Returns
    -------
    DataFrame: quantity, kind, measure (what the numbers are), paper_value, our_value, ratio (ours / paper;
    NaN where the paper's is 0), in registry order
    """
    rows = []
    for q in entries:
        if kind is not None and q.kind != kind:
            continue
        if q.measure is not None:
            got = q.measure(o)
            if got is None:
                continue
            paper, ours, what = got
        else:
            paper, ours, what = _number(q.paper), _number(q.ours(o)[0]), "value"
            if paper is None or ours is None:
                continue
        ratio = ours / paper if paper else float("nan")
        rows.append((q.quantity, q.kind, what, float(paper), float(ours), ratio))
    return pd.DataFrame(rows, columns=["quantity", "kind", "measure", "paper_value", "our_value", "ratio"])


def section_rows(comparison: pd.DataFrame, section: str) -> pd.DataFrame:
    """The rows of one section of :func:`paper_vs_ours`, indexed by quantity, for display."""
    if section not in set(comparison["section"]):
        raise ValueError(f"no section {section!r}; the table has {', '.join(comparison['section'].unique())}")
    return comparison[comparison["section"] == section].drop(columns="section").set_index("quantity")


def styled(rows: pd.DataFrame):
    """A comparison table styled for the book: text left-aligned and the explanation column wide enough to
    read (the class ``elf-comparison`` is styled in book/_static/elf.css)."""
    return rows.style.set_table_attributes('class="dataframe elf-comparison"').format(na_rep="–")


def show_section(comparison: pd.DataFrame, section: str):
    """:func:`section_rows`, :func:`styled`."""
    return styled(section_rows(comparison, section))


def chapter_comparison(profile, chapter: str, **known) -> pd.DataFrame:
    """A chapter's closing table: its registry entries (quantity, constant, paper, ours, explanation), from
    only the stages they read; ``known`` outcomes (e.g. ``latent_walks=`` the study the chapter has already
    computed) are used as given (:func:`collect`)."""
    entries = entries_of(chapter)
    outcomes = collect(profile, needs={n for q in entries for n in q.needs}, known=known)
    return paper_vs_ours(outcomes, entries).drop(columns="section").set_index("quantity")


def show_chapter(profile, chapter: str, **known):
    """:func:`chapter_comparison`, :func:`styled`."""
    return styled(chapter_comparison(profile, chapter, **known))


OPTIONAL_FIELDS = tuple(f.name for f in fields(Outcomes))[3:]
# the outcomes a chapter computes for itself and hands to its closing table (show_chapter(..., name=value)),
# so the table shows what the chapter computed; the others are read from the cached stages by both
COMPUTED_BY_CHAPTERS = ("duplicates", "cnnf_labels", "cnnf_localisation", "embeddings", "fig4_geometry",
                        "square_octagon", "chemistry", "nc4", "flat_bands", "latent_walks")


def collect(profile="default", needs: Iterable[str] | None = None,
            known: Mapping[str, object] | None = None) -> Outcomes:
    """Run (or load) the cached stages and gather the outcomes the registry compares: all of them, or only
    the optional fields in ``needs``. ``known`` gives optional fields already computed by the caller (a
    chapter's own measurements, :data:`COMPUTED_BY_CHAPTERS`); they are taken as they are instead of being
    computed again. What is computed here is computed as the chapters compute it (the same functions, the
    profile's settings)."""
    from elfutils.analysis.chemistry import chemistry_table, cluster_chemistry
    from elfutils.analysis.cluster import minkowski_distances
    from elfutils.analysis.duplicates import find_duplicates
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.book import pipeline
    from elfutils.book.profiles import get_profile
    from elfutils.data.dataset import atlas_store_path, dft_store_path, flat_band_pool
    from elfutils.dft.store_coverage import coverage_across_stores
    from elfutils.nn.checkpoint import training_card

    needs = set(OPTIONAL_FIELDS if needs is None else needs)
    known = dict(known or {})
    unknown = (needs | set(known)) - set(OPTIONAL_FIELDS)
    if unknown:
        raise ValueError(f"unknown outcome(s) {sorted(unknown)}; known: {', '.join(OPTIONAL_FIELDS)}")
    p = get_profile(profile)
    table = pipeline.fingerprints(p)
    clusters = pipeline.clustering(p)
    outcomes = Outcomes(profile=p, n_materials=len(table), clustering=clusters)
    # shared by several outcomes, computed at most once per collect() and only when one of them is asked for
    @functools.cache
    def distances():
        return minkowski_distances(fingerprint_matrix(table), p=p.minkowski_p)

    @functools.cache
    def pool():
        return flat_band_pool()

    def embeddings():
        tsne = pipeline.tsne(p)
        if tsne["material_id"].tolist() != clusters["material_id"].tolist():
            return None
        maps = {"UMAP": clusters[["umap_x", "umap_y"]].to_numpy(),
                "t-SNE": tsne[["tsne_x", "tsne_y"]].to_numpy()}
        labels = clusters["hdbscan_label"].to_numpy()
        return embedding_metrics.embedding_agreement(distances(), maps, labels, k=p.umap_n_neighbors)

    @functools.cache
    def structural():
        return measurements.structural_clusters(p, clusters)

    def square_octagon():
        ordered = clusters.set_index("material_id").loc[table["material_id"]].reset_index()
        return measurements.square_octagon_survey(ordered, distances(), survey=pipeline.bond_geometry(p))[1]

    loaders = {
        "n_pool": lambda: len(pool()),
        "n_structures": lambda: int(pool()["has_structure"].sum()),
        "n_computed": lambda: coverage_across_stores([dft_store_path(), atlas_store_path()])["n_computed"],
        "model_card": lambda: training_card(pipeline.model_file(p)[0]),
        "pixel_fraction": lambda: float(pipeline.images(p)[0].mean()),
        "study": lambda: pipeline.parameter_study(p),
        "duplicates": lambda: find_duplicates(table, p=p.minkowski_p, distances=distances()),
        "cnnf_labels": lambda: structural()[0],
        "cnnf_localisation": lambda: structural()[2],
        "embeddings": embeddings,
        "fig4_geometry": measurements.fig4_geometry,
        "square_octagon": square_octagon,
        "chemistry": lambda: cluster_chemistry(clusters["hdbscan_label"],
                                               chemistry_table(clusters["formula"]).label,
                                               n_permutations=C.N_PERMUTATIONS, seed=p.seed),
        "nc4": lambda: measurements.nc4_check(table, min_samples=p.min_samples, p=p.minkowski_p),
        "flat_bands": lambda: measurements.flat_band_clusters(clusters, pipeline.load_dataset(p),
                                                              seed=p.seed),
        "architecture_study": lambda: pipeline.architecture_study(p),
        "latent_walks": lambda: measurements.latent_walk_study(p),
    }
    for name in OPTIONAL_FIELDS:  # in field order, as the full collection always ran them
        if name in known:
            setattr(outcomes, name, known[name])
        elif name in needs:
            setattr(outcomes, name, loaders[name]())
    return outcomes
