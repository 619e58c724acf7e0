"""One yardstick for every band-structure representation (issue #31): the same tasks, the same seeded folds,
the spread across folds beside every mean.

A :class:`Representation` turns band records into rows of numbers, drawing its own images with the render
settings it needs (a model: its card's; a baseline: the paper's), so every row below can perturb the drawing
as well as the data. :func:`measure` scores a set of them on:

* **flat bands** -- ``binary_flatness`` ROC-AUC (k-nearest-neighbour vote, cross-validated) and the
  precision of the top candidates outside the flat-band pool; ``flatness_score`` R²; flat bands near E_F
  R² (counted from our own eigenvalues);
* **other physics** -- band gap R², metal vs gapped and spin-polarised ROC-AUC;
* **across codes** (:func:`cross_code`) -- files of materials from another code (2Dmatpedia's VASP, QE)
  searched among the dataset: recall@1/5/10, median rank, and the distance to the material's own entry as a
  percentile of the dataset's nearest-neighbour distances (the code-to-code noise against the resolution);
* **robustness** (:func:`robustness`) -- recall@1 of finding a sampled material's unperturbed self when the
  query is drawn with the zero shifted, E_F mid-gap, other k-point densities, line widths, the k-distance x
  axis, spins swapped or a path segment reversed.

Labels enter the scoring only: nothing here trains on them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from elfutils.analysis import baselines as bl
from elfutils.analysis import evaluation as ev
from elfutils.analysis.atlas import TOP_CANDIDATES, expected_precision_at
from elfutils.analysis.perturbation import resample_path, shift_zero, swap_spins
from elfutils.constants import SEED
from elfutils.data.bands import BandStructure
from elfutils.data.energy_zero import GAP_ZERO_OFFSET_EV
from elfutils.errors import BandDataError
from elfutils.images.settings import PAPER_RENDER, RenderSettings

Change = Callable[[RenderSettings], RenderSettings]  # how a perturbation changes the drawing
NO_CHANGE: Change = lambda settings: settings  # noqa: E731 (a value, named)
ROBUSTNESS_SAMPLE = 300  # materials perturbed per row (each: one drawing and featurisation per row)
RECALL_AT = (1, 5, 10)


def draw(records: Sequence[BandStructure], settings: RenderSettings) -> np.ndarray:
    """Images of ``records`` in order, (N, S, S), or (N, C, S, S) for settings of several channels; a record
    with no band inside the window draws as an empty image (so rows stay aligned with the records)."""
    planes = () if len(settings.channels) == 1 else (len(settings.channels),)
    out = np.zeros((len(records), *planes, settings.image_size, settings.image_size), np.uint8)
    for i, bs in enumerate(records):
        try:
            out[i] = settings.render(bs)
        except BandDataError:
            pass
    return out


Featurize = Callable[[Sequence[BandStructure], Change], np.ndarray]


@dataclass(frozen=True)
class Representation:
    """A named way to turn band records into rows of numbers.

    build : dataset records -> featurize, where featurize(records, change) -> (N, d) and ``change`` maps the
        representation's own render settings to the ones a perturbation asks for (:data:`NO_CHANGE`
        otherwise). ``build`` may fit something unsupervised on the dataset (PCA); queries and perturbed
        drawings are then featurized with that fit.
    p : the Minkowski exponent of its distance (2 = Euclidean)
    role : "fingerprint" (a learned model), "rival" (a general baseline) or "ceiling" (a one-property readout,
        shown beside the rivals, never counted as one)
    """

    name: str
    build: Callable[[Sequence[BandStructure]], Featurize]
    p: float = 2.0
    role: str = "rival"


def stateless(name: str, featurize: Featurize, p: float = 2.0, role: str = "rival") -> Representation:
    """A representation that fits nothing on the dataset."""
    return Representation(name, lambda records: featurize, p, role)


def from_images(name: str, features: Callable[[np.ndarray], np.ndarray], role: str = "rival",
                settings: RenderSettings = PAPER_RENDER, p: float = 2.0) -> Representation:
    """A representation computed from images drawn with ``settings`` (the paper's by default)."""
    return stateless(name, lambda records, change: features(draw(records, change(settings))), p, role)


def from_model(name: str, model, p: float) -> Representation:
    """A learned fingerprint: a :class:`elfutils.nn.fingerprinter.Fingerprinter`, drawing with its card's
    settings."""
    def featurize(records, change):
        return np.asarray(model.encode(draw(records, change(model.settings))), dtype=np.float64)

    return stateless(name, featurize, p, "fingerprint")


def simple_representations(seed: int = SEED) -> list[Representation]:
    """The general baselines every fingerprint must beat, and the gap ceiling."""
    def pca(records):  # fitted on the dataset's pixels, no labels
        from sklearn.decomposition import PCA

        def pixels(recs, change=NO_CHANGE):
            images = draw(recs, change(PAPER_RENDER))
            return images.reshape(len(images), -1).astype(np.float32)

        fitted = PCA(n_components=min(98, len(records) - 1), random_state=seed).fit(pixels(records))
        return lambda recs, change: fitted.transform(pixels(recs, change))

    def random(records):  # fresh numbers at every call: a query never meets its own dataset row by chance
        rng = np.random.default_rng(seed)
        return lambda recs, change: rng.random((len(recs), 98))

    def histogram(records, change):
        return np.stack([ev.eigenvalue_histogram(r) for r in records])

    return [
        from_images("pixels (8x8 blocks)", lambda im: ev.block_average(im, 8)),
        from_images(f"pixels of ±{bl.NEAR_ZERO_EV:g} eV ({bl.NEAR_ZERO_BLOCK[0]}x{bl.NEAR_ZERO_BLOCK[1]} "
                    "blocks)", bl.near_zero_blocks),
        Representation("PCA of pixels (98)", pca),
        stateless("eigenvalue histogram (98)", histogram),
        from_images("row occupancy (224)", bl.row_occupancy),
        Representation("random (98)", random),
        from_images("gap read from the image (ceiling)", bl.image_gap, role="ceiling"),
    ]


# --- tasks ------------------------------------------------------------------------------------------------
def fold_spread(y, predicted, folds, kind: str) -> dict:
    """The score of each fold's out-of-fold predictions: {"mean", "std", "folds"} of R² (numbers) or
    ROC-AUC (yes/no); folds with one class only are left out of a yes/no spread."""
    metric = "r2" if kind == "number" else "roc_auc"
    y, predicted, folds = np.asarray(y, float), np.asarray(predicted, float), np.asarray(folds)
    per = [ev.score_predictions(y[folds == f], predicted[folds == f], kind)[metric] for f in np.unique(folds)]
    per = [s for s in per if np.isfinite(s)]
    return {"mean": float(np.mean(per)) if per else float("nan"),
            "std": float(np.std(per, ddof=1)) if len(per) > 1 else float("nan"), "folds": per}


def top_precision_spread(scores, labels, in_pool, folds, top: int = TOP_CANDIDATES) -> dict:
    """Precision of the ``top`` highest out-of-fold scores outside the pool (the discovery figure), and its
    spread: the same figure per fold with ``top / n_folds`` candidates each."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, float)
    outside = ~np.asarray(in_pool, bool) & np.isfinite(labels) & np.isfinite(scores)
    folds = np.asarray(folds)
    per_fold_top = max(1, top // len(np.unique(folds)))
    per = [expected_precision_at(scores[outside & (folds == f)], labels[outside & (folds == f)], per_fold_top)
           for f in np.unique(folds) if (outside & (folds == f)).any()]
    return {"mean": expected_precision_at(scores[outside], labels[outside], top),
            "std": float(np.std(per, ddof=1)) if len(per) > 1 else float("nan"), "folds": per,
            "per_fold_top": per_fold_top}


def tasks(features: np.ndarray, p: float, properties: dict, in_pool, folds, k: int = ev.KNN_K) -> dict:
    """Every property (name -> (values, kind)) predicted by the k-NN vote on ``folds`` and scored with its
    fold spread; the flat-band label also gets the top-candidate precision outside the pool."""
    out = {}
    for name, (values, kind) in properties.items():
        predicted = ev.knn_cross_predict(features, values, folds, k=k, p=p)
        out[name] = {**ev.score_predictions(values, predicted, kind), "spread": fold_spread(values, predicted,
                                                                                             folds, kind)}
        if name == "binary_flatness":
            out["top-100 outside the pool"] = top_precision_spread(predicted, values, in_pool, folds)
    return out


# --- across codes -------------------------------------------------------------------------------------------
def nearest_neighbour_distances(X: np.ndarray, p: float, chunk: int = 512) -> np.ndarray:
    """Each row's distance to its nearest other row (Minkowski ``p``), in chunks of rows."""
    out = np.empty(len(X))
    for start in range(0, len(X), chunk):
        D = ev.distances(X[start:start + chunk], X, p=p)
        D[np.arange(len(D)), np.arange(start, start + len(D))] = np.inf
        out[start:start + chunk] = D.min(axis=1)
    return out


def cross_code(featurize: Featurize, p: float, reference: np.ndarray, ids: Sequence[str],
               queries: Sequence[BandStructure], query_ids: Sequence[str],
               nn_distances: np.ndarray | None = None) -> dict:
    """Files of dataset materials from another code, searched among the dataset (``reference``, rows of
    ``ids``): rank of the material's own entry, recall@1/5/10, median rank, and the distance to it as a
    percentile of the dataset's nearest-neighbour distances (100 = farther than every material's nearest
    neighbour)."""
    ids = np.asarray(ids)
    Q = featurize(queries, NO_CHANGE)
    D = ev.distances(Q, reference, p=p)
    own = np.array([np.flatnonzero(ids == q)[0] if (ids == q).any() else -1 for q in query_ids])
    found = own >= 0
    if not found.any():
        raise ValueError("none of the queries' materials is in the dataset")
    d_own = D[np.flatnonzero(found), own[found]]
    ranks = 1 + (D[found] < d_own[:, None]).sum(axis=1)
    nn = nearest_neighbour_distances(reference, p) if nn_distances is None else nn_distances
    percentile = 100.0 * np.searchsorted(np.sort(nn), d_own, side="right") / len(nn)
    return {**{f"recall@{k}": ev.recall_at(ranks, k) for k in RECALL_AT},
            "median_rank": float(np.median(ranks)), "n": int(found.sum()),
            "median_twin_percentile": float(np.median(percentile)),
            "twin_closer_than_median_nn": float(np.mean(d_own < np.median(nn))),
            "ranks": dict(zip(np.asarray(query_ids)[found].tolist(), ranks.tolist(), strict=True)),
            "missing": np.asarray(query_ids)[~found].tolist()}


# --- robustness ---------------------------------------------------------------------------------------------
def mid_gap_zero(bs: BandStructure) -> BandStructure:
    """The zero moved to the middle of the gap, as a file with E_F mid-gap is drawn when its own zero is kept
    (a metal is unchanged)."""
    gap = bs.band_gap()  # measured from the project's zero, GAP_ZERO_OFFSET_EV above the valence-band top
    return shift_zero(bs, gap / 2 - GAP_ZERO_OFFSET_EV) if gap > 0 else bs


def reverse_first_segment(bs: BandStructure) -> BandStructure:
    """The first path segment drawn the other way round (a path given in another direction)."""
    b = bs.branches[0]
    energies = bs.energies.copy()
    energies[:, :, b.start:b.end + 1] = energies[:, :, b.start:b.end + 1][:, :, ::-1]
    return dataclasses.replace(bs, energies=energies)


@dataclass(frozen=True)
class Perturbation:
    name: str
    record: Callable[[BandStructure], BandStructure] = lambda bs: bs
    change: Change = NO_CHANGE


def _width(delta: float) -> Change:
    return lambda s: s.replace(line_width_px=max(1.0, s.line_width_px + delta))


PERTURBATIONS = (
    *(Perturbation(f"zero {d:+g} eV", record=lambda bs, d=d: shift_zero(bs, d))
      for d in (-0.5, -0.2, -0.1, 0.1, 0.2, 0.5)),
    Perturbation("E_F mid-gap", record=mid_gap_zero),
    *(Perturbation(f"{n} k-points a segment", record=lambda bs, n=n: resample_path(bs, n))
      for n in (10, 40, 100)),
    Perturbation("line width -1 px", change=_width(-1.0)),
    Perturbation("line width +1 px", change=_width(1.0)),
    Perturbation("k-distance x axis", change=lambda s: s.replace(x_axis="distance")),
    Perturbation("spins swapped", record=swap_spins),
    Perturbation("first segment reversed", record=reverse_first_segment),
)


def robustness(featurize: Featurize, p: float, records: Sequence[BandStructure], reference: np.ndarray,
               sample: Sequence[int], perturbations=PERTURBATIONS) -> list[dict]:
    """For each perturbation: recall@1 and the median rank of each sampled material's unperturbed row of
    ``reference`` when its perturbed drawing is the query; ``changed``: how many queries differ at all."""
    sample = np.asarray(sample)
    chosen = [records[i] for i in sample]
    rows = []
    for pert in perturbations:
        Q = featurize([pert.record(bs) for bs in chosen], pert.change)
        D = ev.distances(Q, reference, p=p)
        own = D[np.arange(len(sample)), sample]
        ranks = 1 + (D < own[:, None]).sum(axis=1)
        changed = ~np.all(np.isclose(Q, reference[sample]), axis=1)
        rows.append({"perturbation": pert.name, "recall@1": ev.recall_at(ranks, 1),
                     "median_rank": float(np.median(ranks)), "n": len(sample), "changed": int(changed.sum())})
    return rows


# --- everything ---------------------------------------------------------------------------------------------
def measure(reps: Sequence[Representation], records: Sequence[BandStructure], properties: dict, in_pool,
            queries: Sequence[BandStructure] = (), query_ids: Sequence[str] = (), seed: int = SEED,
            sample: int = ROBUSTNESS_SAMPLE, progress: Callable[[str], None] = lambda _: None) -> dict:
    """Every representation on every row (see the module docstring), on one set of seeded folds."""
    ids = [r.material_id for r in records]
    folds = ev.seeded_folds(len(records), seed=seed)
    chosen = np.sort(np.random.default_rng(seed).choice(len(records), min(sample, len(records)),
                                                        replace=False))
    out = {"n": len(records), "folds": ev.N_FOLDS, "k": ev.KNN_K, "seed": seed, "sample": len(chosen),
           "representations": {}}
    for rep in reps:
        progress(rep.name)
        featurize = rep.build(records)
        X = np.asarray(featurize(records, NO_CHANGE), dtype=np.float64)
        entry = {"role": rep.role, "p": rep.p, "dim": int(X.shape[1]),
                 "tasks": tasks(X, rep.p, properties, in_pool, folds)}
        if rep.role != "ceiling":
            if len(queries):
                entry["cross_code"] = cross_code(featurize, rep.p, X, ids, queries, query_ids)
            entry["robustness"] = robustness(featurize, rep.p, records, X, chosen)
        out["representations"][rep.name] = entry
    return out
