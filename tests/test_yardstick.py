"""The yardstick every representation runs through (issue #31, item 1): baselines, fold spreads, cross-code
retrieval and robustness, on planted data and the 12 real band files."""

from __future__ import annotations

import numpy as np
import pytest

from elfutils.analysis import baselines as bl
from elfutils.analysis import yardstick as ys
from elfutils.data.readers import read_band_file
from elfutils.images.settings import PAPER_RENDER


@pytest.fixture(scope="module")
def records(fixture_files):
    return [read_band_file(p) for p in fixture_files]


# --- baselines --------------------------------------------------------------------------------------------
def test_the_near_zero_rows_are_the_one_ev_around_the_zero():
    rows = bl.energy_rows(224, 1.0)
    assert (rows.start, rows.stop) == (84, 140)  # 56 rows of 8/224 eV: exactly ±1 eV
    assert bl.energy_rows(224, 4.0) == slice(0, 224)
    with pytest.raises(ValueError, match="window_ev must be in"):
        bl.energy_rows(224, 5.0)


def test_near_zero_blocks_see_only_the_near_zero_rows():
    images = np.zeros((2, 224, 224), np.uint8)
    images[0, 100, :] = 1  # a flat band 0.4 eV above the zero: inside ±1 eV
    images[1, 10, :] = 1  # 3.6 eV above: outside
    X = bl.near_zero_blocks(images)
    assert X.shape == (2, 14 * 28)
    assert X[0].sum() > 0 and X[1].sum() == 0


def test_row_occupancy_of_a_flat_band_is_a_full_row():
    images = np.zeros((1, 224, 224), np.uint8)
    images[0, 50, :] = 1
    images[0, 60, :112] = 1
    occ = bl.row_occupancy(images)[0]
    assert occ[50] == 1.0 and occ[60] == 0.5 and occ.sum() == 1.5


def test_the_gap_read_from_the_image_follows_the_true_gap(records):
    images = ys.draw(records, PAPER_RENDER)
    read = bl.image_gap(images)[:, 0]
    truth = np.array([min(r.band_gap(), 4.0) for r in records])
    assert np.all(read[truth == 0] == 0)  # metals: a band crosses the zero row
    gapped = truth > 0.2
    assert gapped.sum() >= 3
    # within a few pixels (line width, the VBM offset) of the gap the eigenvalues give
    np.testing.assert_allclose(read[gapped], truth[gapped], atol=0.2)


# --- scores with spreads ------------------------------------------------------------------------------------
def test_fold_spread_and_top_precision_on_planted_scores():
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.3).astype(float)
    folds = rng.integers(0, 5, 500)
    perfect = ys.fold_spread(y, y, folds, "yes/no")
    assert perfect["mean"] == 1.0 and perfect["std"] == 0.0 and len(perfect["folds"]) == 5
    noisy = ys.fold_spread(y, y + rng.normal(0, 1.0, 500), folds, "yes/no")
    assert 0.5 < noisy["mean"] < 0.95 and noisy["std"] > 0
    in_pool = rng.random(500) < 0.5
    top = ys.top_precision_spread(y, y, in_pool, folds, top=20)
    assert top["mean"] == 1.0 and top["per_fold_top"] == 4


def test_cross_code_ranks_and_the_noise_floor():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(200, 5))
    ids = [f"m{i}" for i in range(200)]
    queries = reference[[3, 7, 11]] + np.array([[0.0], [0.01], [10.0]])  # near, near, far from their own
    featurize = lambda recs, change: np.asarray(recs)  # noqa: E731
    out = ys.cross_code(featurize, 2.0, reference, ids, queries, ["m3", "m7", "m11"])
    assert out["ranks"]["m3"] == 1 and out["ranks"]["m7"] == 1 and out["ranks"]["m11"] > 1
    assert out["recall@1"] == pytest.approx(2 / 3) and out["n"] == 3
    assert out["twin_closer_than_median_nn"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="none of the queries"):
        ys.cross_code(featurize, 2.0, reference, ids, queries[:1], ["nope"])


# --- robustness on the real files ---------------------------------------------------------------------------
def test_robustness_rows_change_what_they_should(records):
    featurize = ys.simple_representations()[0].build(records)
    X = featurize(records, ys.NO_CHANGE)
    rows = {r["perturbation"]: r for r in ys.robustness(featurize, 2.0, records, X, range(len(records)))}
    assert set(rows) == {p.name for p in ys.PERTURBATIONS}
    n_spin = sum(r.is_spin_polarized for r in records)
    assert rows["spins swapped"]["changed"] <= n_spin
    n_gapped = sum(r.band_gap() > 0 for r in records)
    assert 0 < rows["E_F mid-gap"]["changed"] <= n_gapped
    assert rows["zero +0.5 eV"]["changed"] == len(records)
    assert rows["line width +1 px"]["changed"] == len(records)
    assert rows["zero +0.1 eV"]["recall@1"] >= rows["zero +0.5 eV"]["recall@1"]


def test_measure_scores_every_representation_on_the_same_folds(records):
    gap = np.array([r.band_gap() for r in records])
    properties = {"band gap": (gap, "number"), "binary_flatness": ((gap > 1).astype(float), "yes/no")}
    in_pool = np.arange(len(records)) % 2 == 0
    reps = ys.simple_representations()
    out = ys.measure(reps, records, properties, in_pool, queries=records[:3],
                     query_ids=[r.material_id for r in records[:3]], sample=6)
    assert out["n"] == 12 and out["sample"] == 6 and set(out["representations"]) == {r.name for r in reps}
    ceiling = out["representations"]["gap read from the image (ceiling)"]
    assert "robustness" not in ceiling and np.isfinite(ceiling["tasks"]["band gap"]["r2"])
    pixels = out["representations"]["pixels (8x8 blocks)"]
    assert pixels["cross_code"]["recall@1"] == 1.0  # the files themselves: found first
    assert {"mean", "std", "folds"} <= set(pixels["tasks"]["band gap"]["spread"])
    assert "top-100 outside the pool" in pixels["tasks"]


def test_the_benchmark_script_runs_on_the_smoke_profile(tmp_path):
    """CI runs the yardstick end to end on a small profile: the committed elf-2 beside every simple baseline
    (no model to train)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "y.json"
    done = subprocess.run([sys.executable, str(root / "benchmarks" / "yardstick.py"), "--profile", "smoke",
                           "--models", "elf2", "--sample", "4", "--out", str(out)], capture_output=True,
                          text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["profile"] == "smoke" and result["sample"] == 4
    assert "pixels of ±1 eV (4x8 blocks)" in result["representations"]
    entry = result["representations"]["row occupancy (224)"]
    assert entry["cross_code"]["n"] >= 12 and len(entry["robustness"]) == 15
    assert "flat AUC" in done.stdout and "row occupancy" in done.stdout
    elf2 = result["representations"]["elf elf2, p = 0.2"]
    assert elf2["dim"] == 98 and elf2["cross_code"]["n"] >= 12 and len(elf2["robustness"]) == 15
