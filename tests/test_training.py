"""Training, checkpoints, resuming, fingerprints and the image-stack format (elfutils.nn.training & co).

Runs use 32 x 32 images (1 x 1 x 2 latent) and a handful of images so the whole file stays fast on a 2-core
CPU; the architecture is the paper's ResNet18 autoencoder throughout. One torch thread: on a shared 2-core
machine a second thread mostly waits for the first, and results are bit-identical only for a fixed thread
count.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from elfutils.cli import main as elf_main
from elfutils.errors import BandDataError
from elfutils.images.stack import load_image_stack, save_image_stack
from elfutils.nn.checkpoint import CheckpointError, data_hash, load_model, read_card, save_model
from elfutils.nn.model import ElfAutoencoder, ElfConfig
from elfutils.nn.training import encode_images, learning_rate, split_indices, train, unpack_batch

SIZE = 32
TINY = ElfConfig(image_size=SIZE, epochs=2, batch_size=6, validation_fraction=0.25)
pytestmark = pytest.mark.usefixtures("one_thread")  # one torch thread: see conftest.py


def band_images(n: int, size: int = SIZE, seed: int = 0) -> np.ndarray:
    """uint8 (n, size, size) 0/1: three cosine 'bands' per image, one pixel per column each."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, size, size), np.uint8)
    x = np.arange(size)
    for i in range(n):
        for _ in range(3):
            offset, amplitude = rng.uniform(4, size - 4), rng.uniform(1, 4)
            periods, phase = rng.integers(1, 3), rng.uniform(0, 6.3)
            y = offset + amplitude * np.cos(2 * np.pi * x / size * periods + phase)
            out[i, np.clip(np.round(y).astype(int), 0, size - 1), x] = 1
    return out


def _weights(path):
    model, _, _ = load_model(path)
    return model.state_dict()


@pytest.fixture(scope="module")
def images():
    return band_images(16)


@pytest.fixture(scope="module")
def uninterrupted(images, tmp_path_factory):
    """A 2-epoch run in one go: (folder, history)."""
    out = tmp_path_factory.mktemp("uninterrupted")
    return out, train(images, TINY, out, progress=False, precision="fp32", device="cpu")


# --- image stacks -------------------------------------------------------------------------------------------


def test_image_stack_round_trip(tmp_path):
    images = band_images(5, 224)
    ids, formulas = [f"2dm-{i}" for i in range(5)], ["IrF2", "ZnSe", "In2S", "PI3", "TlBi"]
    path = save_image_stack(tmp_path / "stack.npz", images, ids, formulas)
    back, back_ids, back_formulas = load_image_stack(path)
    assert back.dtype == np.uint8 and back.shape == (5, 224, 224)
    assert np.array_equal(back, images) and back_ids == ids and back_formulas == formulas
    with np.load(path) as raw:  # the documented on-disk layout
        assert raw["images"].shape == (5, 224, 28) and raw["images"].dtype == np.uint8
        assert list(raw["material_ids"]) == ids
    assert not list(tmp_path.glob("*.tmp"))


def test_image_stack_errors(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(BandDataError, match=r"bad\.npz"):
        load_image_stack(bad)
    np.savez(tmp_path / "nokey.npz", images=np.zeros((1, 8, 1), np.uint8))
    with pytest.raises(BandDataError, match="material_ids"):
        load_image_stack(tmp_path / "nokey.npz")
    with pytest.raises(ValueError, match="0 and 1"):
        save_image_stack(tmp_path / "x.npz", np.full((1, 8, 8), 255, np.uint8), ["a"], ["b"])


# --- pieces -------------------------------------------------------------------------------------------------


def test_unpack_batch_matches_numpy():
    images = band_images(4, 40)  # 40 is not a multiple of 8: padding bits must be dropped
    packed = np.packbits(images, axis=-1)
    assert np.array_equal(unpack_batch(torch.from_numpy(packed), 40).numpy(), images.astype(bool))


def test_split_is_seeded_and_disjoint():
    train_a, val_a = split_indices(100, ElfConfig())
    train_b, val_b = split_indices(100, ElfConfig())
    assert torch.equal(train_a, train_b) and torch.equal(val_a, val_b)
    assert len(val_a) == 10 and set(train_a.tolist()).isdisjoint(val_a.tolist())
    assert not torch.equal(val_a, split_indices(100, ElfConfig(seed=1))[1])


def test_one_cycle_schedule():
    config = ElfConfig(learning_rate=1e-3)
    lrs = [learning_rate(step, 1000, config) for step in range(1000)]
    assert lrs[0] == pytest.approx(4e-5)
    assert max(lrs) == pytest.approx(1e-3, rel=1e-2)
    assert int(np.argmax(lrs)) == pytest.approx(150, abs=2)
    assert lrs[-1] < 2e-6
    assert learning_rate(500, 1000, ElfConfig(schedule="constant")) == ElfConfig().learning_rate


def test_data_hash_depends_on_pixels_and_ids():
    packed = np.packbits(band_images(3), axis=-1)
    base = data_hash(packed, ["a", "b", "c"])
    assert base == data_hash(packed.copy(), ["a", "b", "c"])
    assert base != data_hash(packed, ["a", "b", "d"])
    flipped = packed.copy()
    flipped[0, 0, 0] ^= 1
    assert base != data_hash(flipped, ["a", "b", "c"])


# --- training -----------------------------------------------------------------------------------------------


def test_history_and_files(uninterrupted):
    out, history = uninterrupted
    assert [h["epoch"] for h in history] == [1, 2]
    for h in history:
        assert h["train_bce"] > 0 and h["val_bce"] > 0 and h["val_bce_clean"] > 0
    for name in ("best.safetensors", "best.json", "last.safetensors", "last.json", "last-state.safetensors"):
        assert (out / name).is_file()
    card = read_card(out / "last.safetensors")
    assert card["epoch"] == 2 and card["config"] == TINY.to_dict() and len(card["data_hash"]) == 64
    assert card["n_train"] == 12 and card["n_val"] == 4


def test_tiny_set_is_overfit(tmp_path):
    """8 images, no noise, constant learning rate: the training BCE at least halves in 20 epochs
    (0.30 -> 0.135 observed), far below the 0.30 of predicting the mean pixel everywhere."""
    config = ElfConfig(image_size=SIZE, epochs=20, batch_size=8, validation_fraction=0, noise_probability=0,
                       learning_rate=1e-3, schedule="constant")  # fmt: skip
    history = train(band_images(8), config, tmp_path, progress=False, precision="fp32", device="cpu")
    assert history[-1]["train_bce"] < history[0]["train_bce"] / 2


def test_best_is_the_epoch_with_the_lowest_validation_loss(images, tmp_path, monkeypatch):
    """best.safetensors is the epoch of lowest clean validation BCE -- here epoch 2 of 3, not the last --
    in one run and in a run resumed after epoch 2 (the record to beat then comes from the history)."""
    from elfutils.nn import training

    config = ElfConfig(image_size=SIZE, epochs=3, batch_size=6, validation_fraction=0.25)
    clean_bce = {1: 0.50, 2: 0.30, 3: 0.40}  # controlled validation losses, by epoch
    evaluated = []

    def scripted_evaluate(*args, noise_seed):
        if noise_seed is not None:  # the noised validation BCE: reported, not what "best" minimises
            return 0.60
        evaluated.append(len(evaluated) + 1)
        return clean_bce[evaluated[-1]]

    monkeypatch.setattr(training, "_evaluate", scripted_evaluate)
    run = dict(progress=False, precision="fp32", device="cpu")
    whole = train(images, config, tmp_path / "whole", **run)
    assert [h["val_bce_clean"] for h in whole] == [0.50, 0.30, 0.40]
    evaluated.clear()
    train(images, config, tmp_path / "resumed", stop_after_epoch=2, **run)
    assert evaluated == [1, 2]
    train(images, config, tmp_path / "resumed", **run)  # epoch 3 only
    assert evaluated == [1, 2, 3]
    for out in (tmp_path / "whole", tmp_path / "resumed"):
        assert read_card(out / "last.safetensors")["epoch"] == 3
        assert read_card(out / "best.safetensors")["epoch"] == 2, f"{out.name}: best is not epoch 2"
        best, last = _weights(out / "best.safetensors"), _weights(out / "last.safetensors")
        assert any(not torch.equal(best[k], last[k]) for k in best), f"{out.name}: best has the last weights"


def test_resume_equals_uninterrupted(images, uninterrupted, tmp_path):
    out, history = uninterrupted
    first = train(images, TINY, tmp_path, progress=False, precision="fp32", device="cpu", stop_after_epoch=1)
    assert len(first) == 1
    resumed = train(images, TINY, tmp_path, progress=False, precision="fp32", device="cpu")
    losses = [(h["train_bce"], h["val_bce"]) for h in history]
    assert [(h["train_bce"], h["val_bce"]) for h in resumed] == losses
    a, b = _weights(out / "last.safetensors"), _weights(tmp_path / "last.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # a finished run resumes to a no-op
    assert train(images, TINY, tmp_path, progress=False, precision="fp32", device="cpu") == resumed


def test_same_seed_same_fingerprints(images, tmp_path):
    one = ElfConfig(image_size=SIZE, epochs=1, batch_size=6, validation_fraction=0.25)
    prints = []
    for name, config in (("a", one), ("b", one), ("c", ElfConfig(**{**one.to_dict(), "seed": 1}))):
        train(images, config, tmp_path / name, progress=False, precision="fp32", device="cpu")
        model, _, _ = load_model(tmp_path / name)
        prints.append(encode_images(model, images))
    assert prints[0].shape == (16, 2) and prints[0].dtype == np.float32
    assert np.array_equal(prints[0], prints[1])
    assert not np.allclose(prints[0], prints[2])


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ElfAutoencoder(ElfConfig(image_size=64)).eval()
    path = save_model(tmp_path / "m.safetensors", model, {"epoch": 7, "note": "round trip"})
    loaded, config, card = load_model(path)
    assert config == model.config and card["epoch"] == 7 and card["note"] == "round trip"
    assert (tmp_path / "m.json").is_file()
    images = band_images(3, 64)
    assert np.array_equal(encode_images(model, images), encode_images(loaded, images))


def test_exported_float16_model_is_half_the_size_and_encodes_alike(tmp_path):
    from elfutils.nn.checkpoint import export_model

    torch.manual_seed(0)
    model = ElfAutoencoder(ElfConfig(image_size=64)).eval()
    full = save_model(tmp_path / "run" / "best.safetensors", model, {"epoch": 3, "data_hash": "abc"})
    lean = export_model(tmp_path / "run", tmp_path / "lean.safetensors")
    assert lean.stat().st_size < 0.55 * full.stat().st_size
    loaded, config, card = load_model(lean)
    assert config == model.config and card["data_hash"] == "abc" and card["weights_dtype"] == "float16"
    assert json.loads((tmp_path / "lean.json").read_text())["exported_from"] == "best.safetensors"
    assert all(t.dtype == torch.float32 for t in loaded.parameters())
    images = band_images(3, 64)
    a, b = encode_images(model, images), encode_images(loaded, images)
    assert not np.array_equal(a, b)  # really rounded ...
    assert np.abs(a - b).max() < 1e-2 * np.abs(a).max()  # ... to float16's 3 significant digits
    with pytest.raises(ValueError, match="dtype"):
        export_model(full, tmp_path / "x.safetensors", dtype="int8")


def test_corrupt_checkpoint_names_the_file(images, uninterrupted, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(uninterrupted[0], out)
    last = out / "last.safetensors"
    last.write_bytes(last.read_bytes()[:5000])  # truncated, as by a full disk
    with pytest.raises(CheckpointError, match=r"last\.safetensors.*corrupt"):
        train(images, TINY, out, progress=False, device="cpu")
    with pytest.raises(CheckpointError, match=r"last\.safetensors"):
        load_model(last)
    last.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match=r"last\.safetensors"):
        load_model(last)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_model(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="not an elf model"):
        load_model(tmp_path / "other.safetensors")


def test_mismatched_config_or_data_is_refused(images, uninterrupted, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(uninterrupted[0], out)
    other = ElfConfig(**{**TINY.to_dict(), "learning_rate": 1e-4})
    with pytest.raises(CheckpointError, match=r"last\.safetensors.*another config.*learning_rate"):
        train(images, other, out, progress=False, device="cpu")
    with pytest.raises(CheckpointError, match=r"last\.safetensors.*other images"):
        train(band_images(16, seed=5), TINY, out, progress=False, device="cpu")
    # resume=False starts afresh instead
    assert len(train(images, TINY, out, resume=False, progress=False, device="cpu", stop_after_epoch=1)) == 1


def test_bf16_fingerprints_agree_with_fp32():
    """bf16 autocast encoding stays within 3 % (relative L2, per fingerprint) of fp32 at the paper's size."""
    torch.manual_seed(0)
    model = ElfAutoencoder(ElfConfig()).eval()
    images = band_images(4, 224)
    fp32 = encode_images(model, images, precision="fp32")
    bf16 = encode_images(model, images, precision="bf16")
    assert fp32.shape == (4, 98)
    rel = np.linalg.norm(fp32 - bf16, axis=1) / np.linalg.norm(fp32, axis=1)
    assert rel.max() < 0.03


def test_cli_train_and_encode(images, tmp_path):
    stack = save_image_stack(tmp_path / "stack.npz", images, [f"2dm-{i}" for i in range(16)], ["X"] * 16)
    model_dir = tmp_path / "model"
    args = ["train", "--images", str(stack), "--out", str(model_dir), "--epochs", "1", "--batch-size", "8",
            "--device", "cpu", "--precision", "fp32", "--quiet"]  # fmt: skip
    assert elf_main(args) == 0
    assert (model_dir / "best.safetensors").is_file()
    table = tmp_path / "fp.csv"
    encode = ["encode", "--model", str(model_dir), "--images", str(stack), "--out", str(table), "--quiet"]
    assert elf_main(encode) == 0
    df = pd.read_csv(table)
    assert list(df.columns) == ["material_id", "formula", "f0", "f1"]  # 32 px -> 1 x 1 x 2 latent
    assert df["material_id"].tolist() == [f"2dm-{i}" for i in range(16)]
    # a mismatched resume is a clean error, not a traceback
    assert elf_main([*args, "--lr", "0.1"]) == 2
