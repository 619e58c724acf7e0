"""Render settings travel with what they made (issue #30, item 1; #34 items 8 and 10).

Before: the model card and the image-stack header recorded only the image size; encode, similar and the
featurizer drew images with the paper's defaults whatever the model was trained on, and `elf encode --images`
checked only the size. Now one frozen :class:`RenderSettings` is written into every stack and card, the one
:class:`Fingerprinter` draws with the card's, and a mismatch is one error naming both values."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from elfutils.cli import main as elf
from elfutils.data.readers import read_band_file
from elfutils.images.settings import PAPER_RENDER, RenderSettings, RenderSettingsError
from elfutils.images.stack import load_image_stack, save_image_stack, stack_render_settings
from elfutils.nn.checkpoint import CheckpointError, load_model, read_card, save_model
from elfutils.nn.fingerprinter import load_fingerprinter
from elfutils.nn.model import ElfAutoencoder, ElfConfig
from elfutils.paths import committed_models_dir

NARROW = RenderSettings(window_ev=2.0, line_width_px=1.5)  # 224 px (98 numbers), otherwise not the paper's


@pytest.fixture(scope="module")
def narrow_model(tmp_path_factory):
    """A model whose card says its images are drawn at ±2 eV with 1.5-px lines."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("narrow") / "narrow.safetensors"
    save_model(path, ElfAutoencoder(ElfConfig(epochs=1)), {"epoch": 1, "history": []},
               render_settings=NARROW)
    return path


def _rewrite_card(source, target, edit) -> None:
    with safe_open(str(source), framework="pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        card = json.loads(fh.metadata()["elf_card"])
    edit(card)
    save_file(tensors, str(target), metadata={"elf_card": json.dumps(card)})


# --- the settings object
def test_settings_round_trip_and_refuse_what_they_cannot_draw():
    assert RenderSettings.from_dict(NARROW.to_dict()) == NARROW
    assert RenderSettings.from_dict(json.loads(json.dumps(PAPER_RENDER.to_dict()))) == PAPER_RENDER
    with pytest.raises(RenderSettingsError, match=r"unknown render settings \['dpi'\]"):
        RenderSettings.from_dict({**PAPER_RENDER.to_dict(), "dpi": 300})
    with pytest.raises(RenderSettingsError, match="x_axis must be one of"):
        RenderSettings(x_axis="energy")
    with pytest.raises(RenderSettingsError, match="window_ev must be a positive"):
        RenderSettings(window_ev=-1)
    old = RenderSettings.from_dict(None, image_size=96)
    assert not old.recorded and old.image_size == 96 and old.window_ev == PAPER_RENDER.window_ev


def test_differences_name_every_value():
    with pytest.raises(RenderSettingsError) as err:
        PAPER_RENDER.require_same(NARROW, "A", "B")
    message = str(err.value)
    for part in ("window_ev 4.0 vs 2.0", "line_width_px 2.0 vs 1.5", "A", "B"):
        assert part in message


# --- image stacks
def test_a_stack_records_its_settings_and_an_old_stack_reads_as_the_papers(tmp_path, fixture_files):
    record = read_band_file(fixture_files[0])
    image = NARROW.render(record)
    path = save_image_stack(tmp_path / "s.npz", image[None], ["a"], ["X"], settings=NARROW)
    assert stack_render_settings(path) == NARROW
    old = tmp_path / "old.npz"  # written the way stacks were before the settings were recorded
    np.savez_compressed(old, images=np.packbits(image[None], axis=-1), material_ids=np.array(["a"]),
                        formulas=np.array(["X"]), image_size=np.int64(224))
    settings = stack_render_settings(old)
    assert not settings.recorded and settings.image_size == 224 and settings.window_ev == 4.0
    with pytest.raises(ValueError, match="render settings say 64"):
        save_image_stack(tmp_path / "bad.npz", image[None], ["a"], ["X"],
                         settings=NARROW.replace(image_size=64))


# --- model cards
def test_a_card_records_the_settings_and_the_fingerprint_length(narrow_model):
    card = read_card(narrow_model)
    assert card["format"] == "elf-model/2" and card["fingerprint_length"] == 98
    assert RenderSettings.from_dict(card["render_settings"]) == NARROW
    assert load_fingerprinter(narrow_model, device="cpu").settings == NARROW


def test_an_old_card_loads_with_the_papers_settings(tmp_path, narrow_model):
    old = tmp_path / "old.safetensors"

    def to_format_1(card):
        card["format"] = "elf-model/1"
        del card["render_settings"], card["fingerprint_length"], card["tensors_sha256"]

    _rewrite_card(narrow_model, old, to_format_1)
    with pytest.warns(UserWarning, match="unchecked"):  # no tensor hash: said, not silently trusted
        model = load_fingerprinter(old, device="cpu")
    assert not model.settings.recorded and model.settings.window_ev == 4.0
    assert model.settings.image_size == 224


def test_an_edited_image_size_is_refused_naming_both_values(tmp_path, narrow_model):
    edited = tmp_path / "edited.safetensors"
    _rewrite_card(narrow_model, edited, lambda card: card["config"].update(image_size=96))
    with pytest.raises(CheckpointError, match="image_size 96 but its render settings say 224"):
        load_model(edited)

    def both(card):  # image size edited consistently: the fingerprint length no longer agrees
        card["config"]["image_size"] = 96
        card["render_settings"]["image_size"] = 96

    _rewrite_card(narrow_model, edited, both)
    with pytest.raises(CheckpointError, match="fingerprint of 18 numbers but the card records 98"):
        load_model(edited)


def test_committed_models_carry_settings_and_a_tensor_hash():
    for name in ("elf-resnet18", "elf-resnet18-atlas"):
        card = read_card(committed_models_dir() / name / "best.safetensors")
        assert card["format"] == "elf-model/2", name
        assert card.get("tensors_sha256"), f"{name}: no tensor hash, damaged weights would load unnoticed"
        assert RenderSettings.from_dict(card["render_settings"]) == PAPER_RENDER
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a hashed card loads without the 'unchecked' warning
            load_model(name)


# --- models by name
def test_models_load_by_name_from_elf_models_dir_then_the_committed_ones(tmp_path, monkeypatch, narrow_model):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "best.safetensors").write_bytes(narrow_model.read_bytes())
    monkeypatch.setenv("ELF_MODELS_DIR", str(tmp_path))
    assert load_fingerprinter("mine", device="cpu").settings == NARROW
    assert load_fingerprinter("elf-resnet18", device="cpu").config.fingerprint_length == 98
    with pytest.raises(CheckpointError, match=r"nor a model of that name .*\(models by name: .*mine"):
        load_model("nope")


# --- every path draws with the card's settings
def test_encode_refuses_a_stack_drawn_otherwise_naming_both(tmp_path, fixture_files, narrow_model, capsys):
    stack = tmp_path / "paper.npz"
    assert elf(["render", str(fixture_files[0]), "--out", str(stack), "--no-progress"]) == 0
    out = tmp_path / "fp.parquet"
    code = elf(["encode", "--model", str(narrow_model), "--images", str(stack), "--out", str(out), "--quiet",
                "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "window_ev 2.0 vs 4.0" in err and "line_width_px 1.5 vs 2.0" in err and str(stack) in err


def test_band_files_and_stores_are_drawn_with_the_cards_settings(tmp_path, fixture_files, narrow_model):
    from elfutils.analysis.encode_store import encode_store
    from elfutils.analysis.featurizer import ElfFingerprint
    from elfutils.analysis.fingerprints import fingerprint_matrix, read_fingerprints
    from elfutils.analysis.similar import encode_band_files
    from elfutils.data.store import BandStore

    files = fixture_files[:3]
    records = [read_band_file(f) for f in files]
    model = load_fingerprinter(narrow_model, device="cpu")
    expected = model.encode(np.stack([NARROW.render(r) for r in records]))
    papers = model.encode(np.stack([PAPER_RENDER.render(r) for r in records]))
    assert not np.allclose(expected, papers)  # the settings matter to the numbers

    table = encode_band_files(files, narrow_model, device="cpu")
    np.testing.assert_allclose(fingerprint_matrix(table), expected, rtol=1e-5, atol=1e-6)

    store = BandStore(tmp_path / "s.elfstore")
    store.append(records)
    stored = {bs.material_id: bs for bs in store}  # float16 energies: drawn from what the store holds
    encode_store(store.path, model, tmp_path / "fp.parquet")
    table = read_fingerprints(tmp_path / "fp.parquet")
    direct = model.encode(np.stack([NARROW.render(stored[m]) for m in table["material_id"]]))
    np.testing.assert_allclose(fingerprint_matrix(table), direct, rtol=1e-5, atol=1e-6)

    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    bs = BandStructureSymmLine.from_dict(json.loads(files[0].read_text()))
    featurized = ElfFingerprint(model=narrow_model, device="cpu").featurize(bs)
    np.testing.assert_allclose(featurized, expected[0], rtol=1e-5, atol=1e-6)


def test_elf_train_writes_the_stacks_settings_into_the_card(tmp_path, fixture_files):
    stack = tmp_path / "s.npz"
    assert elf(["render", *map(str, fixture_files[:4]), "--out", str(stack), "--size", "64", "--window", "3",
                "--no-progress"]) == 0
    images, _, _ = load_image_stack(stack)
    assert elf(["train", "--images", str(stack), "--out", str(tmp_path / "m"), "--epochs", "1",
                "--batch-size", "2", "--device", "cpu", "--quiet"]) == 0
    card = read_card(tmp_path / "m" / "best.safetensors")
    assert RenderSettings.from_dict(card["render_settings"]) == stack_render_settings(stack)
    assert card["render_settings"]["window_ev"] == 3.0 and images.shape[-1] == 64
