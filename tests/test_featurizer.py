"""The matminer featurizer: pymatgen band structures of the real 2Dmatpedia files in a DataFrame -> 98 numbers
each, the same as the command line's fingerprints."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matminer")


@pytest.fixture(scope="module")
def band_structures(fixture_files):
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    return {p.stem: BandStructureSymmLine.from_dict(json.loads(p.read_text())) for p in fixture_files[:4]}


def test_featurize_dataframe_adds_the_98_numbers(band_structures):
    from elfutils.analysis.featurizer import ElfFingerprint
    from elfutils.data.dataset import real_band_files
    from elfutils.data.readers import read_band_file
    from elfutils.images.render import render_band_image
    from elfutils.nn.checkpoint import load_model
    from elfutils.nn.training import encode_images

    featurizer = ElfFingerprint(device="cpu")
    df = pd.DataFrame({"material_id": list(band_structures),
                       "band_structure": list(band_structures.values())})
    out = featurizer.featurize_dataframe(df, "band_structure", pbar=False)
    labels = featurizer.feature_labels()
    assert labels == [f"f{i}" for i in range(98)] and list(out.columns[-98:]) == labels
    X = out[labels].to_numpy()
    assert X.shape == (4, 98) and np.isfinite(X).all()
    # the same numbers as reading the file and encoding it the command line's way
    model, _, _ = load_model(featurizer.model)
    files = {p.stem: p for p in real_band_files()}
    direct = encode_images(model,
                           np.stack([render_band_image(read_band_file(files[m])) for m in df.material_id]))
    np.testing.assert_allclose(X, direct, rtol=1e-5, atol=1e-6)
    assert featurizer.citations() and featurizer.implementors()
