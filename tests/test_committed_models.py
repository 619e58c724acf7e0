"""The committed model and architecture comparison (models/) against the committed dataset, and the committed
structural fingerprints (data/structure-fingerprints/) against the code that makes them.

The default book profile reads both instead of training for hours; they must have been made from exactly the
images of the committed dataset (data hash), or the book would silently show another dataset's model. While
the DFT dataset is still being computed there is nothing to commit yet; once it is complete (issue #6: at
least
COMPLETE_DATASET materials), a missing or stale model fails here: run ``make models`` and commit models/.
"""

from __future__ import annotations

import pytest

from elfutils.book import pipeline
from elfutils.data.store import BandStore
from elfutils.paths import committed_models_dir as models_dir

COMPLETE_DATASET = 1950  # of the 2002 flat-band materials with structures


@pytest.fixture(scope="module")
def default_profile(tmp_path_factory):
    # a private cache: rendering the ~2000 images takes seconds; the repository's .cache is left alone
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ELF_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        pipeline.clear_memory()
        yield pipeline.get_profile("default")
        pipeline.clear_memory()


def dataset_complete() -> bool:
    return len(BandStore(pipeline.get_profile("default").store_path())) >= COMPLETE_DATASET


@pytest.mark.parametrize("artefact", [pipeline.COMMITTED_MODEL, pipeline.COMMITTED_ARCHITECTURE_STUDY],
                         ids=lambda a: a.name)
def test_committed_artefact_matches_the_dataset(default_profile, artefact):
    if not artefact.path(default_profile).exists():
        assert not dataset_complete(), \
            f"the dataset is complete but the committed {artefact.name} is missing: run `make models` and " \
            "commit models/"
        return
    path, why = artefact.status(default_profile)
    assert path is not None, why


def test_committed_model_is_lean(default_profile):
    path, _ = pipeline.COMMITTED_MODEL.status(default_profile)
    if path is None:  # absent (checked above) or stale (fails above)
        return
    assert path.stat().st_size <= pipeline.COMMITTED_MODEL_MAX_BYTES
    card = pipeline.model_summary(default_profile)
    assert card["source"] == "committed" and card.get("weights_dtype") == "float16"


def test_committed_atlas_model_matches_the_atlas_images_and_is_lean(default_profile):
    """models/elf-resnet18-atlas/ stands in for ~70 CPU-minutes of training in the atlas chapter: it must have
    learned exactly the atlas profile's images (the flat-band store and the committed atlas store)."""
    atlas = pipeline.get_profile("atlas")
    path, why = pipeline.COMMITTED_MODEL.status(atlas)
    assert path is not None, f"{why}: run `python scripts/commit_models.py --atlas` and commit models/"
    assert path.stat().st_size <= pipeline.COMMITTED_MODEL_MAX_BYTES
    card = pipeline.model_summary(atlas)
    assert card["source"] == "committed" and card.get("weights_dtype") == "float16"
    assert card["n_images"] == len(pipeline.images(atlas)[1])


def test_atlas_model_keeps_the_default_models_step_budget():
    """profiles.ATLAS_EPOCHS: the atlas model trains for as many optimiser steps as the default model (its
    epochs are fewer because its epochs are longer), within 10 %."""
    from elfutils.nn.checkpoint import training_card

    def steps(profile):
        path, why = pipeline.COMMITTED_MODEL.status(profile)
        assert path is not None, why
        card = training_card(path)
        return len(card["history"]) * -(-card["n_train"] // card["config"]["batch_size"])

    default, atlas = steps(pipeline.get_profile("default")), steps(pipeline.get_profile("atlas"))
    assert abs(atlas / default - 1) <= 0.10, (default, atlas)


def test_models_folder_holds_only_what_the_profiles_read():
    if not models_dir().exists():
        return
    from elfutils.nn.fingerprinter import ELF2_MODEL

    known = {pipeline.get_profile("default").committed_model, pipeline.get_profile("atlas").committed_model,
             pipeline.get_profile("default").committed_architecture_study, pipeline.COMMITTED_RESULTS,
             ELF2_MODEL}  # elf-2: `--model elf2` and the book's elf-2 stage read it
    extra = {p.name for p in models_dir().iterdir()} - known - {"README.md"}
    assert not extra, f"unexpected entries in {models_dir()}: {sorted(extra)}"


def test_committed_structural_fingerprints_match_the_code_and_a_recomputation():
    """data/structure-fingerprints/ (make cnnf) stands in for ~10 CPU-minutes of CrystalNN in the first book
    build: its card's key must match the current parser/featuriser code and sublattice file, and a sample of
    rows recomputed here must equal the committed ones."""
    import pandas as pd

    from elfutils.analysis import structure as st
    from elfutils.paths import data_dir

    path, why = pipeline.COMMITTED_CNNF.status()
    assert path is not None, f"{why}: run `make cnnf` and commit data/structure-fingerprints"
    committed = pd.read_parquet(path).set_index("material_id")
    entries = st.read_sublattice_structures(data_dir() / st.SUBLATTICE_FILE).results
    parsed = {e.material_id: e.structure for e in entries}
    assert len(committed) >= len(parsed) - 5  # CrystalNN may fail on a handful (listed in the card)
    sample = list(committed.index[:: max(1, len(committed) // 4)])[:4]
    again, report = st.cnnf_fingerprints({m: parsed[m] for m in sample}, progress=False)
    assert report.skipped == []
    pd.testing.assert_frame_equal(again.loc[sample], committed.loc[sample].astype(float), check_exact=False,
                                  rtol=1e-9, atol=1e-12, check_names=False)


def test_committed_results_are_those_of_the_current_code_and_data(default_profile):
    """models/book-results/ stands in for the slow stages of a fresh clone's first build (the atlas, the
    evaluation): each listed stage's files for the committed data, code and settings must be there (their
    key is in their path), and nothing else. Stale after a change to the atlas store, the model or the
    analysis code: run scripts/commit_book_results.py and commit models/book-results."""
    from elfutils.book.committed_results import COMMITTED_STAGES, committed_files
    from elfutils.paths import cache_dir

    have = set(committed_files())
    want = set()
    for profile, stage, _, files in COMMITTED_STAGES:
        mine = {f.relative_to(cache_dir()) for f in files(profile)}
        missing = sorted(str(f) for f in mine - have)
        assert not missing, (f"{profile}/{stage}: no committed result of the current key ({missing}); run "
                             "scripts/commit_book_results.py and commit models/book-results")
        want |= mine
    assert have == want, f"stale committed results: {sorted(str(f) for f in have - want)}"
