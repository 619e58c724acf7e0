"""The architecture comparison of Supplementary Note 2 (elfutils.book.pipeline.architecture_study), its
profile
fields, and the training-history accessor of Fig. 1 (elfutils.book.pipeline.model_history).

As in tests/test_pipeline.py, training, loading and encoding are replaced by counting stubs to test the
caching (one training per variant, reused from disk, retrained only for what changed); one test runs the real
thing on four 32 px images.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch

from elfutils.book import pipeline, stages
from elfutils.book.profiles import ARCHITECTURE_VARIANTS, Profile, get_profile

SIZE = 32


def profile_for(store, **changes) -> Profile:
    base = dict(name="test", store=str(store.path), image_size=SIZE, epochs=1, max_materials=None,
                include_fixture_files=False, use_committed_model=False, min_cluster_size=2, min_samples=1,
                architecture_epochs=1, architecture_variants=(("resnet18", 2), ("resnet34", 2)))
    return Profile(**{**base, **changes})


@pytest.fixture
def stubs(monkeypatch):
    calls = Counter()

    def train(images, ids, config, out_dir, settings=None):
        calls[f"train {config.backbone} {config.latent_channels} {config.epochs} {config.image_size}"] += 1
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "best.safetensors").write_text(json.dumps(config.to_dict()))

    def load_model(path):
        config = json.loads(path.read_text())
        d = config["latent_channels"] * (config["image_size"] // 32) ** 2
        history = [{"epoch": e + 1, "train_bce": 0.3 - 0.01 * e, "val_bce": 0.31, "val_bce_clean": 0.3,
                    "lr": 1e-3, "seconds": 2.0} for e in range(config["epochs"])]
        return torch.nn.Linear(1, d), None, {"config": config, "history": history}

    def encode(net, images):
        calls["encode"] += 1
        rng = np.random.default_rng(0)
        centres = rng.normal(size=(2, net.out_features))
        return centres[np.arange(len(images)) % 2] + 0.01 * rng.normal(size=(len(images), net.out_features))

    monkeypatch.setattr(stages.model, "_train", train)
    monkeypatch.setattr(stages.model, "_load_model", load_model)
    monkeypatch.setattr(stages.fingerprints, "_encode", encode)
    return calls


# --- profile fields -----------------------------------------------------------------------------------------
def test_profiles_carry_the_architecture_budget():
    default, smoke = get_profile("default"), get_profile("smoke")
    assert default.architecture_variants == ARCHITECTURE_VARIANTS
    assert {b for b, _ in ARCHITECTURE_VARIANTS} == {"resnet18", "resnet34", "resnet50"}
    assert {c for _, c in ARCHITECTURE_VARIANTS} == {1, 2, 4}
    assert 1 <= default.architecture_epochs < default.epochs
    assert default.architecture_image_size is None  # the paper's 224 px
    assert smoke.architecture_epochs == 1 and smoke.architecture_image_size == 64


@pytest.mark.parametrize("change, message", [
    ({"architecture_epochs": 0}, "architecture_epochs must be >= 1"),
    ({"architecture_image_size": 100}, "architecture_image_size must be None or a positive multiple of 32"),
    ({"architecture_variants": ()}, "architecture_variants must be distinct"),
    ({"architecture_variants": (("resnet18", 0),)}, "architecture_variants must be distinct"),
    ({"architecture_variants": (("resnet18", 2), ("resnet18", 2))}, "architecture_variants must be distinct"),
])
def test_invalid_architecture_fields(change, message):
    with pytest.raises(ValueError, match=message):
        get_profile("default", **change)


def test_unknown_backbone_is_rejected_by_the_config(cache, tiny_store, stubs):
    with pytest.raises(ValueError, match="backbone must be one of"):
        pipeline.architecture_study(profile_for(tiny_store, architecture_variants=(("vgg16", 2),)))


# --- the stage ----------------------------------------------------------------------------------------------
def test_architecture_study_rows_and_columns(cache, tiny_store, stubs):
    p = profile_for(tiny_store, architecture_variants=(("resnet18", 1), ("resnet18", 2), ("resnet50", 4)))
    table = pipeline.architecture_study(p)
    assert list(table.variant) == ["resnet18 1×1×1", "resnet18 1×1×2", "resnet50 1×1×4"]
    assert list(table.fingerprint_length) == [1, 2, 4]
    assert (table.epochs == 1).all() and (table.n_images == 4).all() and (table.image_size == SIZE).all()
    assert (table.n_clusters == 2).all() and (table.n_unclassified == 0).all()
    assert table.dbcv.between(-1, 1).all()
    assert set(pipeline.architecture_history(p).variant) == set(table.variant)


def test_each_variant_trained_once_then_reused_from_disk(cache, tiny_store, stubs):
    p = profile_for(tiny_store)
    first = pipeline.architecture_study(p)
    assert stubs["train resnet18 2 1 32"] == 1 and stubs["train resnet34 2 1 32"] == 1
    pipeline.clear_memory()  # a new kernel
    again = pipeline.architecture_study(p)
    assert sum(v for k, v in stubs.items() if k.startswith("train")) == 2
    assert first.equals(again)
    timings = pipeline.read_timings()["stages"]
    assert {"test/architecture_study", "test/architecture-resnet18-1x1x2",
            "test/architecture-resnet34-1x1x2"} <= set(timings)


def test_a_new_variant_trains_only_itself_and_the_budget_retrains_all(cache, tiny_store, stubs):
    p = profile_for(tiny_store)
    pipeline.architecture_study(p)
    pipeline.architecture_study(p.replace(architecture_variants=(*p.architecture_variants, ("resnet18", 4))))
    assert stubs["train resnet18 4 1 32"] == 1 and stubs["train resnet18 2 1 32"] == 1
    pipeline.architecture_study(p.replace(architecture_epochs=2))
    assert stubs["train resnet18 2 2 32"] == 1 and stubs["train resnet34 2 2 32"] == 1


def test_architecture_image_size_renders_its_own_images(cache, tiny_store, stubs):
    p = profile_for(tiny_store, architecture_image_size=64)
    table = pipeline.architecture_study(p)
    assert (table.image_size == 64).all() and list(table.latent_side) == [2, 2]
    assert stubs["train resnet18 2 1 64"] == 1


def test_variant_models_do_not_share_the_main_model_folder(cache, tiny_store, stubs):
    p = profile_for(tiny_store, architecture_variants=(("resnet18", 2),))
    assert p.elf_config() == pipeline.architecture_config(p, "resnet18", 2)
    assert pipeline.architecture_model_key(p, "resnet18", 2) != pipeline.model_key(p)


@pytest.mark.slow
def test_real_training_on_tiny_images(cache, tiny_store):
    p = profile_for(tiny_store, architecture_variants=(("resnet18", 1), ("resnet18", 2)))
    table = pipeline.architecture_study(p)
    assert table.train_bce.between(0, 1).all()
    assert (table.n_parameters > 1e6).all() and table.train_seconds.gt(0).all()
    history = pipeline.architecture_history(p)
    assert len(history) == 2 and set(history.columns) >= {"epoch", "train_bce", "variant", "latent_channels"}
    folder = pipeline.architecture_model_file(p, "resnet18", 1).parent
    assert (folder / "COMPLETE.json").exists() and not (folder / "last-state.safetensors").exists()


# --- model history (Fig. 1) ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_model_history_has_every_epoch(cache, tiny_store):
    p = profile_for(tiny_store, epochs=2)
    history = pipeline.model_history(p)
    assert list(history.epoch) == [1, 2]
    assert {"train_bce", "val_bce", "val_bce_clean", "seconds"} <= set(history.columns)


@pytest.mark.slow
def test_exported_model_stands_in_for_training(cache, tiny_store, tmp_path):
    trained = profile_for(tiny_store, epochs=2)
    target = pipeline.COMMITTED_MODEL.export(trained, tmp_path / "models" / "elf-resnet18")
    assert target == tmp_path / "models" / "elf-resnet18" / "best.safetensors"
    reader = trained.replace(name="reader", use_committed_model=True)
    path, why = pipeline.COMMITTED_MODEL.status(reader)
    assert path == target, why
    assert list(pipeline.model_history(reader).epoch) == [1,
                                                          2]  # the whole run, not only up to the best epoch
    summary = pipeline.model_summary(reader)
    assert summary["source"] == "committed" and summary["weights_dtype"] == "float16"
    # the card has no total: the training time is the sum of its epochs', also in the stage timings
    epoch_seconds = float(pipeline.model_history(reader).seconds.sum())
    assert epoch_seconds > 0 and summary["training_seconds"] == pytest.approx(epoch_seconds)
    assert pipeline.read_timings()["stages"]["reader/model"]["seconds"] == pytest.approx(epoch_seconds)


# --- committed results --------------------------------------------------------------------------------------
def test_committed_study_is_read_when_it_matches_and_ignored_otherwise(cache, tiny_store, stubs, tmp_path):
    computed = profile_for(tiny_store)
    folder = pipeline.COMMITTED_ARCHITECTURE_STUDY.export(computed,
                                                          tmp_path / "models" / "architecture-study")
    assert stubs["train resnet18 2 1 32"] == 1
    card = json.loads((folder / "study.json").read_text())
    assert card["computed_with_profile"] == "test" and card["data_hash"] == pipeline.image_data_hash(computed)

    reader = profile_for(tiny_store, name="reader", use_committed_model=True)
    pipeline.clear_memory()
    source = pipeline.architecture_study_source(reader)
    assert "committed architecture study" in source and f"trained on {card['device']}" in source, source
    assert pipeline.architecture_study_device(reader) == card["device"]
    study = pipeline.architecture_study(reader)
    assert study["variant"].tolist() == pipeline.architecture_study(computed)["variant"].tolist()
    assert len(pipeline.architecture_history(reader)) == 2
    assert sum(v for k, v in stubs.items() if k.startswith("train")) == 2, "nothing retrained"
    assert pipeline.read_timings()["stages"]["reader/architecture_study"]["last_use"] == "committed"

    # another epoch budget, other clustering settings or other images: the committed results do not stand in
    for changed, field in ((reader.replace(architecture_epochs=2), "training"),
                           (reader.replace(min_cluster_size=3), "cluster"),
                           (reader.replace(max_materials=3), "data_hash")):
        path, why = pipeline.COMMITTED_ARCHITECTURE_STUDY.status(changed)
        assert path is None and field in why
    (folder / "history.csv").unlink()
    assert "lacks history.csv" in pipeline.COMMITTED_ARCHITECTURE_STUDY.status(reader)[1]
