"""What a user's band file differs in, and whether the fingerprint still finds the material.

A file of a material we hold is never the same file: its energy zero sits a little elsewhere, its path has
another number of points per segment, its plot another line width, its x axis the k-distance rather than the
k-index, its spin channels the other way round. :data:`PERTURBATIONS` lists those differences (each applied
to the band record, or to its rendering); :func:`robustness` renders and encodes every sampled material so
perturbed and asks where the unperturbed material ranks among the whole dataset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from elfutils.analysis.evaluation import recall_at, retrieval_ranks
from elfutils.constants import MINKOWSKI_P


def shift_zero(bs, delta_ev: float):
    """The same bands with the energy zero ``delta_ev`` higher (the image's window moves with it)."""
    return dataclasses.replace(bs, efermi=bs.efermi + delta_ev)


def swap_spins(bs):
    """Spin channels exchanged (a spin-polarised file written the other way round); unchanged otherwise."""
    return dataclasses.replace(bs, energies=bs.energies[::-1].copy())


def resample_path(bs, per_segment: int):
    """Each path branch re-sampled to ``per_segment`` evenly spaced points (linear in k-distance), as a
    calculation with another k-point density would give it."""
    from elfutils.data.bands import Branch

    if per_segment < 2:
        raise ValueError(f"per_segment must be >= 2, got {per_segment}")
    kpoints, distances, energies, branches = [], [], [], []
    start = 0
    for b in bs.branches:
        d = bs.distances[b.start:b.end + 1]
        new_d = np.linspace(d[0], d[-1], per_segment)
        if d[-1] == d[0]:  # a zero-length branch: keep its ends
            new_d = np.full(per_segment, d[0])
            position = np.linspace(0.0, 1.0, per_segment)
            ks = bs.kpoints[b.start] + position[:, None] * (bs.kpoints[b.end] - bs.kpoints[b.start])
            es = bs.energies[:, :, b.start][..., None] + position * (
                bs.energies[:, :, b.end] - bs.energies[:, :, b.start])[..., None]
        else:
            ks = np.column_stack([np.interp(new_d, d, bs.kpoints[b.start:b.end + 1, c]) for c in range(3)])
            flat = bs.energies[:, :, b.start:b.end + 1].reshape(-1, len(d))
            es = np.stack([np.interp(new_d, d, row) for row in flat]).reshape(*bs.energies.shape[:2], -1)
        kpoints.append(ks)
        distances.append(new_d)
        energies.append(es)
        branches.append(Branch(start, start + per_segment - 1, b.start_label, b.end_label))
        start += per_segment
    return dataclasses.replace(bs, kpoints=np.vstack(kpoints), distances=np.concatenate(distances),
                               energies=np.concatenate(energies, axis=2), branches=tuple(branches))


@dataclass(frozen=True)
class Perturbation:
    """One way a user's file differs: ``record`` changes the band record, ``render`` the rendering."""

    family: str
    size: str
    record: Callable | None = None
    render: dict = field(default_factory=dict)


def _shift(delta: float) -> Perturbation:
    return Perturbation("energy zero", f"{delta:+g} eV", record=lambda bs: shift_zero(bs, delta))


def _resample(n: int) -> Perturbation:
    return Perturbation("points per segment", f"{n}", record=lambda bs: resample_path(bs, n))


ZERO_SHIFTS_EV = (-0.2, -0.1, -0.05, 0.05, 0.1, 0.2)  # the sizes
POINTS_PER_SEGMENT = (15, 40)
LINE_WIDTH_STEP_PX = 1.0

PERTURBATIONS = (
    *(_shift(d) for d in ZERO_SHIFTS_EV),
    *(_resample(n) for n in POINTS_PER_SEGMENT),
    *(Perturbation("line width", f"{step:+g} px", render={"line_width_delta": step})
      for step in (-LINE_WIDTH_STEP_PX, LINE_WIDTH_STEP_PX)),
    Perturbation("x axis", "k-distance", render={"x_axis": "distance"}),
    Perturbation("spin channels", "swapped", record=swap_spins),
)


def perturbed_images(records, perturbation: Perturbation, render_params: dict) -> np.ndarray:
    """The images of ``records`` under one perturbation, rendered with the dataset's own parameters
    otherwise."""
    from elfutils.images.render import LINE_WIDTH_PX, render_band_image

    params = dict(render_params)
    change = dict(perturbation.render)
    if "line_width_delta" in change:
        base = params.get("line_width") or LINE_WIDTH_PX
        params["line_width"] = base + change.pop("line_width_delta")
    params.update(change)
    record = perturbation.record or (lambda bs: bs)
    return np.stack([render_band_image(record(bs), **params) for bs in records])


def robustness(records, truth, reference, encode: Callable, render_params: dict,
               perturbations=PERTURBATIONS, p: float = MINKOWSKI_P) -> list[dict]:
    """For each perturbation: where each sampled material's unperturbed fingerprint ranks among the whole
    dataset when the perturbed version is the query.

    Parameters
    ----------
    records : the sampled band records; truth : their rows in ``reference``
    reference : array (N, d), the dataset's unperturbed fingerprints
    encode : images (M, S, S) -> fingerprints (M, d)

    Returns
    -------
    list of dicts: family, size, recall@1, recall@5, median_rank, n, changed (materials whose image the
    perturbation changed at all: a spin swap leaves unpolarised materials alone)
    """
    rows = []
    baseline = perturbed_images(records, Perturbation("none", "0"), render_params)
    for perturbation in perturbations:
        images = perturbed_images(records, perturbation, render_params)
        ranks = retrieval_ranks(encode(images), reference, truth, p=p)
        changed = (images != baseline).reshape(len(images), -1).any(axis=1)
        rows.append({"family": perturbation.family, "size": perturbation.size,
                     "recall@1": recall_at(ranks, 1), "recall@5": recall_at(ranks, 5),
                     "median_rank": float(np.median(ranks)), "n": len(ranks), "changed": int(changed.sum())})
    return rows
