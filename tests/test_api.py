"""The public Python API: the README's five-line example, on a real band file and a small model."""

from __future__ import annotations

import numpy as np


def test_the_readme_example_runs(tmp_path, fixture_files):
    import elfutils
    from elfutils import encode, find_similar, load_model, read_band_structure, render
    from elfutils.analysis.fingerprints import make_table
    from elfutils.nn.checkpoint import save_model
    from elfutils.nn.model import ElfAutoencoder, ElfConfig

    path = tmp_path / "m.safetensors"
    save_model(path, ElfAutoencoder(ElfConfig(image_size=224, epochs=1)), {"epoch": 0, "history": []})
    model, config, _card = load_model(path)
    images = np.stack([render(read_band_structure(f), size=config.image_size) for f in fixture_files[:4]])
    fingerprints = encode(model, images)
    assert fingerprints.shape == (4, 98) and np.isfinite(fingerprints).all()
    table = make_table([f.stem for f in fixture_files[:4]], ["x"] * 4, fingerprints)
    bands = read_band_structure(fixture_files[0])
    query = encode(model, render(bands, size=config.image_size)[None])
    neighbours = find_similar(query, table, k=2, query_ids=[bands.material_id], exclude_ids=False)
    assert neighbours["material_id"].iloc[0] == fixture_files[0].stem and neighbours["same_id"].iloc[0]
    assert set(elfutils.__all__) >= {"read_band_structure", "render", "load_model", "encode", "find_similar"}
