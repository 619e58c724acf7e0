"""The book's cached stages (elfutils.book.pipeline) and parameter profiles (elfutils.book.profiles).

The expensive computations are replaced by tiny counting stubs (the seams ``_render``, ``_train``,
``_load_model``, ``_encode``, ``_fit_clustering``, ``_run_parameter_study``), so these tests check the caching
logic itself: reuse on the second call (in-process and from disk), recomputation of exactly the stages
downstream of a changed setting or dataset, the committed-model shortcut, and the timings log.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from elfutils import constants
from elfutils.book import pipeline, stages
from elfutils.book.cache import write_committed_manifest
from elfutils.book.profiles import PROFILES, Profile, get_profile
from elfutils.data.readers import read_band_file

SIZE = 32  # tiny images: a multiple of 32, as ElfConfig requires


# --- profiles ----------------------------------------------------------------------------------------------
def test_profiles_named_and_paper_defaults():
    assert set(PROFILES) == {"default", "smoke", "retrain", "2dmatpedia", "atlas"}
    default = get_profile("default")
    assert (default.image_size, default.epochs) == (constants.IMAGE_SIZE, constants.EPOCHS)
    assert (default.min_cluster_size, default.min_samples) == (5, 2)
    assert default.minkowski_p == constants.MINKOWSKI_P
    # the paper's numbers by value (Methods; Results, Fig. 2), so a changed constant fails here
    assert (default.minkowski_p, default.umap_n_neighbors, default.umap_min_dist) == (0.2, 10, 0.1)
    params = default.cluster_params()
    assert (params["p"], params["n_neighbors"], params["min_dist"]) == (0.2, 10, 0.1)
    assert default.elf_config().noise_probability == 0.5  # "random noise ... with a probability of 0.5"
    assert default.study_min_cluster_sizes == tuple(range(2, 12)) == default.study_min_samples
    assert default.use_committed_model and not get_profile("retrain").use_committed_model
    assert get_profile("retrain").elf_config() == default.elf_config()


def test_smoke_profile_is_small():
    smoke = get_profile("smoke")
    assert smoke.max_materials <= 48 and smoke.include_fixture_files
    assert smoke.epochs <= 2
    assert len(smoke.study_min_cluster_sizes) * len(smoke.study_min_samples) <= 8
    assert smoke.image_size == constants.IMAGE_SIZE  # the latent stays 7 x 7 x 2 = 98 numbers


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown profile 'fast'.*default, smoke, retrain"):
        get_profile("fast")


@pytest.mark.parametrize(
    "change, message",
    [({"image_size": 100}, "multiple of 32"), ({"epochs": 0}, "epochs"),
     ({"max_materials": 0}, "max_materials"), ({"dbscan_eps": -1.0}, "dbscan_eps"), ({"name": ""}, "name")],
)
def test_invalid_profile_values(change, message):
    with pytest.raises(ValueError, match=message):
        get_profile("default", **change)


def test_profile_is_frozen_and_replace_makes_a_copy():
    smoke = get_profile("smoke")
    with pytest.raises(dataclasses.FrozenInstanceError):
        smoke.epochs = 5
    assert smoke.replace(epochs=1).epochs == 1 and smoke.epochs == 2
    assert get_profile(smoke) is smoke


# --- fixtures ----------------------------------------------------------------------------------------------
def _renamed(bs, i):
    return dataclasses.replace(bs, material_id=f"t-{i}")


def profile_for(store, **changes) -> Profile:
    base = dict(name="test", store=str(store.path), image_size=SIZE, epochs=1, max_materials=None,
                include_fixture_files=False, use_committed_model=False)
    return Profile(**{**base, **changes})


@pytest.fixture
def stubs(monkeypatch):
    """Counting stand-ins for the expensive computations."""
    calls = Counter()

    def render(records, params, skipped):
        calls["render"] += 1
        size = params["size"]
        images = np.zeros((len(records), size, size), np.uint8)
        for i in range(len(records)):
            images[i, (3 * i) % size, :] = 1
        return images, [r.material_id for r in records], [r.formula for r in records]

    def train(images, ids, config, out_dir, settings=None):
        calls["train"] += 1
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "best.safetensors").write_bytes(json.dumps([config.to_dict(), ids]).encode())

    def load_model(path):
        calls["load"] += 1
        return "net", None, {"config": {}, "data_hash": "x"}

    def encode(net, images):
        calls["encode"] += 1
        rng = np.random.default_rng(int(images.sum()))
        return rng.normal(size=(len(images), constants.FINGERPRINT_LENGTH))

    def fit(table, params):
        calls["cluster"] += 1
        clusters = table[["material_id", "formula"]].assign(
            hdbscan_label=np.arange(len(table)) % 2, probability=1.0, umap_x=0.0, umap_y=0.0, dbscan_group=-1)
        clusters.attrs.update(n_clusters=np.int64(2), n_unclassified=0, dbscan_eps=0.5)
        tree = pd.DataFrame({"parent": [4, 4], "child": [0, 1], "lambda_val": [0.1, 0.2],
                             "child_size": [2, 2]})
        exemplars = clusters[["material_id", "formula", "hdbscan_label", "probability"]]
        return {"table": clusters, "tree": tree, "exemplars": exemplars, "fitted": None}

    def study(table, profile):
        calls["study"] += 1
        return pd.DataFrame({"min_cluster_size": [2], "min_samples": [1], "n_clusters": [1]})

    monkeypatch.setattr(stages.images, "_render", render)
    monkeypatch.setattr(stages.model, "_train", train)
    monkeypatch.setattr(stages.model, "_load_model", load_model)
    monkeypatch.setattr(stages.fingerprints, "_encode", encode)
    monkeypatch.setattr(stages.clustering, "_fit_clustering", fit)
    monkeypatch.setattr(stages.parameter_study, "_run_parameter_study", study)
    return calls


def _fresh_process():
    """What a new notebook kernel sees: nothing in memory, everything on disk."""
    pipeline.clear_memory()


# --- dataset ------------------------------------------------------------------------------------------------
def test_load_dataset_reads_the_store_in_id_order(cache, tiny_store):
    records = pipeline.load_dataset(profile_for(tiny_store))
    assert [r.material_id for r in records] == ["t-0", "t-1", "t-2", "t-3"]


def test_smoke_selection_fixture_files_first_then_store(cache, tiny_store, fixture_files):
    records = pipeline.load_dataset(profile_for(tiny_store, include_fixture_files=True, max_materials=14))
    ids = [r.material_id for r in records]
    assert ids[:12] == [p.stem for p in fixture_files] and ids[12:] == ["t-0", "t-1"]
    p = profile_for(tiny_store, include_fixture_files=True, max_materials=5)
    assert len(pipeline.load_dataset(p)) == 5


def test_dataset_hash_follows_content_not_files(cache, tiny_store, fixture_files):
    p = profile_for(tiny_store)
    before = pipeline.data_key(p)
    tiny_store.compact(max_small=0, min_part_size=10)  # same materials, other part files
    _fresh_process()
    assert pipeline.data_key(p) == before
    tiny_store.append([_renamed(read_band_file(fixture_files[5]), 9)])
    _fresh_process()
    assert pipeline.data_key(p) != before


# --- images -------------------------------------------------------------------------------------------------
def test_images_cached_in_memory_and_on_disk(cache, tiny_store, stubs):
    p = profile_for(tiny_store)
    images, ids, formulas = pipeline.images(p)
    assert images.shape == (4, SIZE, SIZE) and ids == ["t-0", "t-1", "t-2", "t-3"] and len(formulas) == 4
    pipeline.images(p)
    _fresh_process()
    again, ids_again, _ = pipeline.images(p)
    assert stubs["render"] == 1
    assert np.array_equal(again, images) and ids_again == ids
    assert not list(cache.rglob("*.tmp")), "atomic writes leave no temporary files"


def test_images_recomputed_when_render_settings_or_data_change(cache, tiny_store, stubs, fixture_files):
    pipeline.images(profile_for(tiny_store))
    pipeline.images(profile_for(tiny_store, line_width=3.0))
    assert stubs["render"] == 2
    pipeline.images(profile_for(tiny_store, epochs=5, min_cluster_size=7))  # not render settings
    assert stubs["render"] == 2
    tiny_store.append([_renamed(read_band_file(fixture_files[6]), 7)])
    _fresh_process()
    _images, ids, _ = pipeline.images(profile_for(tiny_store))
    assert stubs["render"] == 3 and len(ids) == 5


# --- model --------------------------------------------------------------------------------------------------
def test_model_trained_once_then_reused(cache, tiny_store, stubs):
    p = profile_for(tiny_store)
    net, _, card = pipeline.model(p)
    assert net == "net" and "trained into the cache" in card["pipeline_source"]
    _fresh_process()
    pipeline.model(p)
    assert stubs["train"] == 1 and stubs["render"] == 1


def test_model_retrained_when_config_changes_images_reused(cache, tiny_store, stubs):
    pipeline.model(profile_for(tiny_store))
    pipeline.model(profile_for(tiny_store, epochs=2))
    assert stubs["train"] == 2 and stubs["render"] == 1


def test_failed_training_leaves_no_cache_entry(cache, tiny_store, stubs, monkeypatch):
    def interrupted(images, ids, config, out_dir, settings=None):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "last.safetensors").write_bytes(b"partial")
        raise KeyboardInterrupt

    p = profile_for(tiny_store)
    monkeypatch.setattr(stages.model, "_train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.model_file(p)
    resumed = []

    def train(images, ids, config, out_dir, settings=None):
        resumed.append((out_dir / "last.safetensors").read_bytes())
        (out_dir / "best.safetensors").write_bytes(b"done")

    monkeypatch.setattr(stages.model, "_train", train)
    _fresh_process()
    path, _ = pipeline.model_file(p)
    assert resumed == [b"partial"], "an interrupted training is resumed in its folder, not taken as finished"
    assert path.name == "best.safetensors"


def _commit_model(folder, config, data_hash, **card_fields):
    """A stand-in committed model: a safetensors file whose metadata carries an elf model card."""
    import torch
    from safetensors.torch import save_file

    from elfutils.nn.checkpoint import MODEL_FORMAT

    folder.mkdir(parents=True, exist_ok=True)
    card = {"format": MODEL_FORMAT, "config": config.to_dict(), "data_hash": data_hash, "wall_time_s": 12.5,
            **card_fields}
    save_file({"w": torch.zeros(1)}, str(folder / "best.safetensors"),
              metadata={"elf_card": json.dumps(card)})
    return folder / "best.safetensors"


def test_committed_model_used_when_its_data_hash_matches(cache, tiny_store, stubs, tmp_path):
    p = profile_for(tiny_store, use_committed_model=True)
    folder = tmp_path / "models" / p.committed_model
    committed = _commit_model(folder, p.elf_config(), pipeline.image_data_hash(p))
    path, why = pipeline.model_file(p)
    assert path == committed and "committed model" in why
    _, _, card = pipeline.model(p)
    assert stubs["train"] == 0 and card["pipeline_file"] == str(committed)
    assert pipeline.read_timings()["stages"]["test/model"]["seconds"] == 12.5


def test_committed_model_ignored_for_other_images_or_architecture(cache, tiny_store, stubs, tmp_path):
    p = profile_for(tiny_store, use_committed_model=True)
    _commit_model(tmp_path / "models" / p.committed_model, p.elf_config(), "0" * 64)
    _path, why = pipeline.model_file(p)
    assert "another data_hash" in why and stubs["train"] == 1
    _commit_model(tmp_path / "models" / p.committed_model, p.replace(backbone="resnet34").elf_config(),
                  pipeline.image_data_hash(p))
    assert "architecture" in pipeline.COMMITTED_MODEL.status(p)[1]
    assert pipeline.COMMITTED_MODEL.status(profile_for(tiny_store))[0] is None  # the profile says train


def test_a_committed_model_is_matched_without_rendering_when_its_card_knows_the_images(cache, tiny_store,
                                                                                     stubs, tmp_path):
    """Before: deciding whether the committed model applies rendered the whole dataset (`elf similar FILE` on
    a fresh clone rendered 1950 or 4602 band structures first). A card that records the images' key (data,
    render settings, render code) is matched by that key; a card without it, or of other images, still
    renders and compares the data hash."""
    p = profile_for(tiny_store, use_committed_model=True)
    folder = tmp_path / "models" / p.committed_model
    data_hash = pipeline.image_data_hash(p)
    assert stubs["render"] == 1
    _commit_model(folder, p.elf_config(), data_hash, images_key=pipeline.images_key(p))
    shutil.rmtree(cache / "images")
    _fresh_process()
    _path, why = pipeline.model_file(p)
    assert "committed model" in why and stubs["render"] == 1  # matched, nothing rendered
    _commit_model(folder, p.elf_config(), data_hash, images_key="0" * 16)  # a key of other images
    _fresh_process()
    assert "committed model" in pipeline.model_file(p)[1] and stubs["render"] == 2  # rendered to check


def test_the_data_key_decodes_the_dataset_once_per_content(cache, tiny_store, monkeypatch):
    """Before: every process decoded and hashed every record to key its stages (3.6 s for the atlas)."""
    p = profile_for(tiny_store)
    reads = Counter()
    real = stages.dataset._read_dataset

    def counting(profile):
        reads["n"] += 1
        return real(profile)

    monkeypatch.setattr(stages.dataset, "_read_dataset", counting)
    key = pipeline.data_key(p)
    _fresh_process()
    assert pipeline.data_key(p) == key and reads["n"] == 1  # known by the files' signature
    tiny_store.compact(max_small=0, min_part_size=10)  # other files, same content: decoded once more
    _fresh_process()
    assert pipeline.data_key(p) == key and reads["n"] == 2
    _fresh_process()
    assert pipeline.data_key(p) == key and reads["n"] == 2


def test_a_store_that_changes_under_a_known_key_is_an_error(cache, tiny_store, fixture_files):
    p = profile_for(tiny_store)
    pipeline.data_key(p)
    _fresh_process()
    pipeline.data_key(p)  # from the signature map, nothing read yet
    tiny_store.append([_renamed(read_band_file(fixture_files[6]), 8)])
    with pytest.raises(RuntimeError, match="changed while this process used them"):
        pipeline.load_dataset(p)


def test_a_changed_choice_changes_the_code_key_of_every_stage_that_reads_it(tmp_path, monkeypatch):
    """Before: a key hashed only the stage's own module, so editing elfutils/choices.py (or a reader, or the
    energy zero) left cached and committed results standing in for new ones."""
    from elfutils.book import cache as engine

    copy = tmp_path / "elfutils"
    shutil.copytree(engine.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(engine, "PACKAGE", copy)
    assert "elfutils.choices" in engine.module_closure("analysis.duplicates")
    before = {m: engine.code_hash(m) for m in ("analysis.duplicates", "images.render", "data.store")}
    choices = copy / "choices.py"
    choices.write_text(choices.read_text().replace("knn_k: int = 10", "knn_k: int = 11"))
    after = {m: engine.code_hash(m) for m in before}
    for module in before:
        reads = "elfutils.choices" in engine.module_closure(module)
        assert (after[module] != before[module]) == reads, module
    assert after["analysis.duplicates"] != before["analysis.duplicates"]
    assert engine.code_hash("no.such.module") == "missing"


def test_kept_module_imports_are_read_and_dropped_when_the_package_changes(tmp_path, monkeypatch):
    """What each module imports is kept in the cache (a new process reads instead of parsing) under the
    package's set of module files: a module added or removed can change what an import names, so the kept
    table is then dropped and the sources parsed again."""
    import json

    from elfutils.book import cache as engine

    copy = tmp_path / "elfutils"
    shutil.copytree(engine.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(engine, "PACKAGE", copy)
    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path / "cache"))

    def new_process():
        engine._kept_imports_in.cache_clear()
        engine._imports_of.cache_clear()

    try:
        new_process()
        closure = engine.module_closure("analysis.duplicates")
        assert "elfutils.choices" in closure
        kept = tmp_path / "cache" / engine.IMPORTS_FILE
        table = json.loads(kept.read_text())
        kept.write_text(json.dumps({**table, "imports": {k: [] for k in table["imports"]}}))
        new_process()  # read, not parsed: the (emptied) kept table is what it goes by
        assert engine.module_closure("analysis.duplicates") == ["elfutils.analysis.duplicates"]
        (copy / "newly_added.py").write_text("")
        new_process()  # another set of modules: the kept table is dropped and the sources parsed again
        assert engine.module_closure("analysis.duplicates") == closure
    finally:
        new_process()  # nothing of the copy's (or the emptied table's) stays in this process


def test_files_are_hashed_once_only_inside_a_short_command(tmp_path):
    """elf similar hashes each input once (files_hashed_once); everywhere else a changed file is seen."""
    from elfutils.book import cache as engine

    f = tmp_path / "model.safetensors"
    f.write_bytes(b"first")
    with engine.files_hashed_once():
        before = engine.file_hash(f)
        f.write_bytes(b"other")
        assert engine.file_hash(f) == before  # the command's own view: read once
    after = engine.file_hash(f)
    assert after != before
    f.write_bytes(b"third")
    assert engine.file_hash(f) not in (before, after)


# --- fingerprints, clustering, parameter study --------------------------------------------------------------
def test_fingerprint_and_clustering_chain(cache, tiny_store, stubs):
    p = profile_for(tiny_store)
    fp = pipeline.fingerprints(p)
    assert list(fp.columns[:2]) == ["material_id", "formula"]
    assert fp.shape == (4, 2 + constants.FINGERPRINT_LENGTH)
    clusters = pipeline.clustering(p)
    assert clusters.attrs["n_clusters"] == 2 and len(pipeline.cluster_tree(p)) == 2
    assert len(pipeline.exemplars(p)) == 4
    _fresh_process()
    assert pipeline.clustering(p).attrs["n_unclassified"] == 0
    pd.testing.assert_frame_equal(pipeline.fingerprints(p), fp)
    assert (stubs["encode"], stubs["cluster"], stubs["train"], stubs["load"]) == (1, 1, 1, 1)


def test_clustering_setting_reclusters_without_reencoding(cache, tiny_store, stubs):
    pipeline.clustering(profile_for(tiny_store))
    pipeline.clustering(profile_for(tiny_store, min_cluster_size=3))
    pipeline.clustering(profile_for(tiny_store, umap_min_dist=0.3))
    assert stubs["cluster"] == 3 and stubs["encode"] == 1 and stubs["train"] == 1


def test_new_data_recomputes_everything_downstream(cache, tiny_store, stubs, fixture_files):
    p = profile_for(tiny_store)
    pipeline.clustering(p)
    pipeline.parameter_study(p)
    tiny_store.append([_renamed(read_band_file(fixture_files[7]), 8)])
    _fresh_process()
    assert len(pipeline.clustering(p)) == 5
    pipeline.parameter_study(p)
    assert stubs == Counter(render=2, train=2, load=2, encode=2, cluster=2, study=2)


def test_parameter_study_grid_is_part_of_its_key(cache, tiny_store, stubs):
    pipeline.parameter_study(profile_for(tiny_store))
    pipeline.parameter_study(profile_for(tiny_store))
    pipeline.parameter_study(profile_for(tiny_store, study_min_samples=(1, 2, 3)))
    assert stubs["study"] == 2 and stubs["encode"] == 1


# --- timings ------------------------------------------------------------------------------------------------
def test_each_stage_logs_its_wall_time(cache, tiny_store, stubs):
    p = profile_for(tiny_store)
    pipeline.clustering(p)
    _fresh_process()
    pipeline.images(p)
    stages = pipeline.read_timings()["stages"]
    for stage in ("dataset", "images", "model", "fingerprints", "clustering"):
        entry = stages[f"test/{stage}"]
        assert entry["seconds"] >= 0 and entry["computed_at"]
    assert stages["test/images"]["last_use"] == "cached" and stages["test/images"]["n_items"] == 4
    table = pipeline.timings_table()
    assert {"dataset", "images", "model", "fingerprints", "clustering"} <= set(table.stage)


def test_stage_key_depends_on_every_input():
    base = pipeline.stage_key("images", {"data": "a", "render": {"size": 224}})
    assert base == pipeline.stage_key("images", {"render": {"size": 224}, "data": "a"})
    assert base != pipeline.stage_key("images", {"data": "b", "render": {"size": 224}})
    assert base != pipeline.stage_key("images", {"data": "a", "render": {"size": 96}})
    assert base != pipeline.stage_key("model", {"data": "a", "render": {"size": 224}})


# --- several stores, another profile's model, committed results ---------------------------------------------
def test_profile_reads_extra_stores_after_its_own_and_skips_repeated_ids(cache, tiny_store, fixture_files,
                                                                        tmp_path):
    from elfutils.data.store import BandStore

    extra = BandStore(tmp_path / "extra.elfstore")
    extra.append([_renamed(read_band_file(fixture_files[5]), 3),  # t-3 again: the first store's copy wins
                  _renamed(read_band_file(fixture_files[6]), 9)])
    p = profile_for(tiny_store, extra_stores=(str(extra.path),))
    records = pipeline.load_dataset(p)
    assert [r.material_id for r in records] == ["t-0", "t-1", "t-2", "t-3", "t-9"]
    assert records[3].formula == tiny_store.get("t-3").formula
    before = pipeline.data_key(p)
    extra.append([_renamed(read_band_file(fixture_files[7]), 10)])
    _fresh_process()
    assert pipeline.data_key(p) != before and len(pipeline.load_dataset(p)) == 6


def test_dataset_is_read_once_per_process(cache, tiny_store, fixture_files):
    p = profile_for(tiny_store)
    key = pipeline.data_key(p)
    tiny_store.append([_renamed(read_band_file(fixture_files[7]), 8)])  # a batch writing meanwhile
    assert len(pipeline.load_dataset(p)) == 4 and pipeline.data_key(p) == key
    _fresh_process()
    assert len(pipeline.load_dataset(p)) == 5


def test_model_from_encodes_with_the_other_profiles_model(cache, tiny_store, stubs, fixture_files, tmp_path):
    from elfutils.data.store import BandStore

    base = profile_for(tiny_store)
    extra = BandStore(tmp_path / "extra.elfstore")
    extra.append([_renamed(read_band_file(fixture_files[6]), 9)])
    wide = profile_for(tiny_store, name="wide", extra_stores=(str(extra.path),), model_from=base)
    pipeline.fingerprints(base)
    table = pipeline.fingerprints(wide)
    assert len(table) == 5 and stubs["train"] == 1  # one model, trained on the base profile's four images
    assert pipeline.model_file(wide) == pipeline.model_file(base)
    with pytest.raises(ValueError, match="from itself"):
        profile_for(tiny_store, model_from="test")


def test_atlas_profiles():
    from elfutils.book.profiles import ATLAS_EPOCHS, ATLAS_MODEL_FOLDER, atlas_profile, flatband_model_profile

    atlas = get_profile("atlas")
    assert atlas.model_from == "" and atlas.extra_stores  # a model of its own
    assert (atlas.committed_model, atlas.epochs) == (ATLAS_MODEL_FOLDER, ATLAS_EPOCHS)
    assert (atlas.min_cluster_size, atlas.min_samples) == (5, 2)
    assert atlas_profile("default") == atlas
    smoke = get_profile("smoke-atlas")
    assert smoke == atlas_profile("smoke") and smoke.model_from == ""
    assert smoke.max_materials == get_profile("smoke").max_materials
    assert not get_profile("retrain-atlas").use_committed_model
    # the same images, encoded by the book profile's flat-band model
    flat = get_profile("atlas-flatband-model")
    assert flat == flatband_model_profile("default") == flatband_model_profile("atlas")
    assert flat.model_from == "default" and flat.replace(name="atlas", model_from="",
                                                          description=atlas.description) == atlas
    assert pipeline.model_profile(flat).name == "default"
    assert get_profile("smoke-atlas-flatband-model").model_from == "smoke"
    for name in ("nothing-atlas", "default-flatband-model", "nothing-atlas-flatband-model"):
        with pytest.raises(ValueError, match="unknown profile"):
            get_profile(name)


def test_committed_results_stand_in_for_a_stage_of_the_same_key(cache, tiny_store, stubs, tmp_path):
    p = profile_for(tiny_store)
    pipeline.clustering(p)
    files = pipeline.clustering_files(p)
    committed = tmp_path / "models" / pipeline.COMMITTED_RESULTS
    for f in files:  # what scripts/commit_book_results.py does
        target = committed / f.relative_to(cache)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes())
    write_committed_manifest()
    clustered = pipeline.clustering(p)
    for f in files:
        f.unlink()
    _fresh_process()
    again = pipeline.clustering(p)
    pd.testing.assert_frame_equal(again, clustered)
    assert stubs["cluster"] == 1 and all(f.exists() for f in files)
    assert pipeline.read_timings()["stages"]["test/clustering"]["last_use"] == "committed results"
    # other settings: other key, nothing committed under it, so it is computed
    pipeline.clustering(p.replace(min_cluster_size=3))
    assert stubs["cluster"] == 2


def test_committed_results_are_used_only_when_complete(cache, tiny_store, stubs, tmp_path):
    p = profile_for(tiny_store)
    pipeline.clustering(p)
    files = pipeline.clustering_files(p)
    committed = tmp_path / "models" / pipeline.COMMITTED_RESULTS
    for f in files[:-1]:  # the marker is missing
        target = committed / f.relative_to(cache)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes())
    for f in files:
        f.unlink()
    _fresh_process()
    pipeline.clustering(p)
    assert stubs["cluster"] == 2


def _commit(files, cache, committed) -> list[Path]:
    targets = []
    for f in files:  # what scripts/commit_book_results.py does
        target = committed / f.relative_to(cache)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes())
        targets.append(target)
    write_committed_manifest()
    return targets


@pytest.mark.parametrize("harm", ["damaged", "edited", "unlisted"])
def test_a_damaged_or_edited_committed_result_is_named_and_recomputed(cache, tiny_store, stubs, tmp_path,
                                                                      harm):
    """Before: a damaged committed file was copied into the cache and stuck there (the error named the
    cache copy), and an edited one (ids shifted by a row) was used silently."""
    p = profile_for(tiny_store)
    clustered = pipeline.clustering(p)
    files = pipeline.clustering_files(p)
    committed = tmp_path / "models" / pipeline.COMMITTED_RESULTS
    targets = _commit(files, cache, committed)
    table = next(t for t in targets if t.suffix == ".parquet")
    if harm == "damaged":
        table.write_bytes(table.read_bytes()[: len(table.read_bytes()) // 2])
    elif harm == "edited":
        edited = pd.read_parquet(table)
        edited["material_id"] = np.roll(edited["material_id"].to_numpy(), 1)
        edited.to_parquet(table, index=False)
    else:
        (committed / "MANIFEST.json").write_text('{"sha256": {}}')
    for f in files:
        f.unlink()
    _fresh_process()
    with pytest.warns(UserWarning, match=rf"{table.name}|committed result is not in") as seen:
        again = pipeline.clustering(p)
    assert any(str(committed) in str(w.message) for w in seen)  # the committed file is named, not the cache
    assert stubs["cluster"] == 2  # computed again, not read from the bad file
    pd.testing.assert_frame_equal(again, clustered)
    assert pipeline.read_timings()["stages"]["test/clustering"]["last_use"] == "computed"


def test_refresh_commits_current_results_and_drops_stale_ones(cache, tiny_store, stubs, tmp_path,
                                                              monkeypatch):
    from elfutils.book import committed_results

    p = profile_for(tiny_store)
    monkeypatch.setattr(committed_results, "COMMITTED_STAGES", (
        (p, "fingerprints", pipeline.fingerprints, pipeline.fingerprints_files),
        (p, "clustering", pipeline.clustering, pipeline.clustering_files)))
    root = tmp_path / "models" / pipeline.COMMITTED_RESULTS
    stale = root / "clustering" / ("0" * 16) / "attrs.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    other = root / "unrelated" / "keep.json"  # a stage folder refresh does not own
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    kept = committed_results.refresh(progress=lambda _: None)
    assert sorted(kept) == sorted(f.relative_to(cache) for f in
                                  pipeline.fingerprints_files(p) + pipeline.clustering_files(p))
    assert not stale.exists() and not stale.parent.exists() and other.exists()
    assert all((root / f).read_bytes() == (cache / f).read_bytes() for f in kept)
    manifest = json.loads((root / "MANIFEST.json").read_text())["sha256"]
    assert {str(f) for f in kept} <= set(manifest)  # every committed file's sha256, checked before use
