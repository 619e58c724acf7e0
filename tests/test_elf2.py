"""elf-2 (issue #31 item 2): views, the VICReg loss, resumable training, cards, loading and the yardstick.

Tiny runs on the 12 real band files (64 px, a width-8 trunk, batches of 4 materials): seconds in all."""

from __future__ import annotations

import dataclasses
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from elfutils.analysis import yardstick
from elfutils.analysis.perturbation import resample_path
from elfutils.images.channels import ChannelSettings, settings_from_dict
from elfutils.images.render import render_band_image
from elfutils.images.settings import PAPER_RENDER, RenderSettings, RenderSettingsError
from elfutils.nn import checkpoint, elf2
from elfutils.nn.elf2 import Elf2Config, Elf2Net, ViewRecipe, band_view, vicreg_loss, view_pairs
from elfutils.nn.fingerprinter import load_fingerprinter, load_network, read_model_card

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]
TINY = Elf2Config(image_size=64, width=8, projector=(64, 64), batch_size=4, epochs=2,
                  validation_fraction=0.25)
STILL = ViewRecipe(zero_shift_ev=0.0, band_offset_ev=0.0, band_warp_ev=0.0, points_per_segment=(21, 21),
                   spin_swap_probability=0.0, spin_merge_probability=0.0,
                   segment_reverse_probability=0.0)  # only the zero convention acts


@pytest.fixture(scope="module")
def records(fixture_records):
    return list(fixture_records.values())


@pytest.fixture(scope="module")
def run(records, tmp_path_factory):
    """A finished 2-epoch run: (folder, history)."""
    out = tmp_path_factory.mktemp("elf2") / "run"
    return out, elf2.train(records, TINY, out, progress=False)


def _timeless(history):
    timings = ("seconds", "view_wait_seconds", "images_per_second", "load_average")
    return [{k: v for k, v in h.items() if k not in timings} for h in history]


# --- render settings with a zoom plane
def test_channel_settings_draw_a_zoom_plane_and_travel_like_render_settings(records):
    bs = records[0]
    two = ChannelSettings(image_size=64, channels=("bands", "bands-zoom"))
    one = ChannelSettings(image_size=64)  # defaults keep the paper's single plane
    assert one.render(bs).shape == (64, 64) and np.array_equal(one.render(bs), render_band_image(bs, size=64))
    image = two.render(bs)
    assert image.shape == (2, 64, 64)
    assert np.array_equal(image[0], render_band_image(bs, size=64, window=4.0))
    assert np.array_equal(image[1], render_band_image(bs, size=64, window=1.0))
    assert not np.array_equal(image[0], image[1])
    assert ChannelSettings.from_dict(json.loads(json.dumps(two.to_dict()))) == two
    assert settings_from_dict(two.to_dict()) == two
    assert settings_from_dict(PAPER_RENDER.to_dict()) == PAPER_RENDER
    stack, ids, _ = two.render_many(records[:3])
    assert stack.shape == (3, 2, 64, 64) and ids == [r.material_id for r in records[:3]]
    # an older reader refuses the zoom rather than drawing one plane; differences name both sides
    with pytest.raises(RenderSettingsError, match=r"unknown render settings \['zoom_window_ev'\]"):
        RenderSettings.from_dict(two.to_dict())
    assert "zoom_window_ev 1.0 vs None" in two.differences(PAPER_RENDER)
    assert any(d.startswith("channels") for d in two.differences(PAPER_RENDER))


def test_channel_settings_refuse_what_they_cannot_draw():
    with pytest.raises(RenderSettingsError, match="zoom_window_ev must be a positive number of eV below"):
        ChannelSettings(zoom_window_ev=4.0)
    with pytest.raises(RenderSettingsError, match=r"channels must be a non-empty tuple of distinct names"):
        ChannelSettings(channels=("bands", "dos"))
    with pytest.raises(RenderSettingsError, match=r"channels must be"):
        ChannelSettings(channels=("bands", "bands"))
    with pytest.raises(RenderSettingsError, match="x_axis must be one of"):
        ChannelSettings(x_axis="energy", channels=("bands", "bands-zoom"))


def test_config_and_recipe_refuse_bad_values():
    with pytest.raises(ValueError, match="width must be a whole number from 4 to 256, not 0"):
        Elf2Config(width=0)
    with pytest.raises(ValueError, match=r"unknown elf-2 config field\(s\): \['depth'\]"):
        Elf2Config.from_dict({**TINY.to_dict(), "depth": 3})
    assert Elf2Config.from_dict(json.loads(json.dumps(TINY.to_dict()))) == TINY
    with pytest.raises(ValueError, match="points_per_segment must be"):
        ViewRecipe(points_per_segment=(60, 10))
    with pytest.raises(ValueError, match="zero_conventions must be three chances"):
        ViewRecipe(zero_conventions=(0.5, 0.5, 0.5))


# --- views
def test_resample_segments_is_perturbation_resample_path(records):
    for bs in records:
        for n in (10, 60):
            fast, slow = elf2.resample_segments(bs, n), resample_path(bs, n)
            assert fast.branches == slow.branches
            for name in ("energies", "kpoints", "distances"):
                np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), atol=1e-9, err_msg=name)


def test_views_differ_from_each_other_and_stay_with_their_material(records):
    settings = elf2.default_settings(TINY)
    pairs = view_pairs(records, ViewRecipe(), settings, (0, 1))
    n = len(records)
    assert pairs.shape == (2, n, 2, 64, 64) and pairs.dtype == np.uint8
    assert all((pairs[0, i] != pairs[1, i]).any() for i in range(n))
    assert np.array_equal(pairs, view_pairs(records, ViewRecipe(), settings, (0, 1)))  # seeded
    assert not np.array_equal(pairs, view_pairs(records, ViewRecipe(), settings, (0, 2)))
    # each view looks most like its own material's plain drawing (8 x 8 blocks of both planes), not another's.
    # A zero moved to mid-gap or the CBM moves a gapped material's window by up to its gap (2-8 eV here): such
    # a view may look more like another material, so the check runs with the project's zero for gapped ones;
    # a reversed segment or a k-distance x axis moves whole blocks of pixels, which 8 x 8 blocks cannot see
    # through, so those two are off as well.
    plain = _blocks(np.stack([settings.render(bs) for bs in records]))
    project_zero = dataclasses.replace(ViewRecipe(), zero_conventions=(1.0, 0.0, 0.0),
                                       x_axis_distance_probability=0.0, segment_reverse_probability=0.0)
    for seed in range(3):
        views = _blocks(view_pairs(records, project_zero, settings, (seed, 1)).reshape(2 * n, 2, 64, 64))
        nearest = ((views[:, None] - plain[None]) ** 2).sum(axis=-1).argmin(axis=1)
        assert np.array_equal(nearest, np.tile(np.arange(n), 2)), nearest


def test_a_view_can_reverse_one_segment_and_draw_against_k_distance(records):
    still = dataclasses.replace(STILL, zero_conventions=(1.0, 0.0, 0.0), points_per_segment=(20, 20),
                                segment_reverse_probability=1.0)
    bs = next(r for r in records if len(r.branches) > 1)
    plain = elf2.resample_segments(bs, 20).energies - bs.efermi
    view = elf2.band_view(bs, still, np.random.default_rng(0), 1e3)  # a window that keeps every band
    segments = [(view.energies[..., 20 * n:20 * (n + 1)], plain[..., 20 * n:20 * (n + 1)])
                for n in range(len(bs.branches))]
    reversed_ = [n for n, (seen, drawn) in enumerate(segments)
                 if np.allclose(seen, drawn[..., ::-1], atol=1e-9) and not np.allclose(seen, drawn)]
    assert len(reversed_) == 1, reversed_
    settings = elf2.default_settings(TINY)
    by_index = dataclasses.replace(still, segment_reverse_probability=0.0, x_axis_distance_probability=0.0)
    by_distance = dataclasses.replace(by_index, x_axis_distance_probability=1.0)
    assert np.array_equal(elf2.draw_view(bs, by_index, settings, np.random.default_rng(0)),
                          elf2.draw_view(bs, by_index, settings, np.random.default_rng(0)))
    assert not np.array_equal(elf2.draw_view(bs, by_index, settings, np.random.default_rng(0)),
                              elf2.draw_view(bs, by_distance, settings, np.random.default_rng(0)))


def _blocks(images: np.ndarray, k: int = 8) -> np.ndarray:
    """(N, C, S, S) 0/1 -> (N, C * (S/k)**2) block averages."""
    n, c, s, _ = images.shape
    return images.reshape(n, c, s // k, k, s // k, k).mean(axis=(3, 5)).reshape(n, -1)


def test_the_zero_conventions_of_a_gapped_material(fixture_records):
    bs = fixture_records["2dm-20"]  # a 2.2 eV gap, zero 0.05 eV above the VBM
    rng = np.random.default_rng(0)
    for conventions, expect in (((1.0, 0.0, 0.0), "vbm"), ((0.0, 1.0, 0.0), "mid"), ((0.0, 0.0, 1.0), "cbm")):
        recipe = dataclasses.replace(STILL, zero_conventions=conventions)
        rel = band_view(bs, recipe, rng, 4.0).relative_energies()
        vbm, cbm = rel[rel <= 0].max(), rel[rel > 0].min()
        target = {"vbm": (-0.05, cbm - vbm - 0.05), "mid": (-(cbm - vbm) / 2, (cbm - vbm) / 2),
                  "cbm": (-(cbm - vbm - 0.05), 0.05)}[expect]
        np.testing.assert_allclose((vbm, cbm), target, atol=1e-6, err_msg=expect)


def test_spin_channels_are_swapped_or_merged(fixture_records):
    bs = fixture_records["2dm-21"]  # spin-polarised
    rng = np.random.default_rng(0)
    merged = band_view(bs, dataclasses.replace(STILL, spin_merge_probability=1.0), rng, 4.0)
    assert merged.nspin == 1 and merged.nbands == 2 * band_view(bs, STILL, rng, 4.0).nbands
    swapped = band_view(bs, dataclasses.replace(STILL, spin_swap_probability=1.0), rng, 4.0)
    plain = band_view(bs, STILL, rng, 4.0)
    np.testing.assert_allclose(swapped.energies, plain.energies[::-1])


# --- the loss
def test_vicreg_terms():
    torch.manual_seed(0)
    z = torch.randn(4096, 16) * 1.5
    _, parts = vicreg_loss(z, z, TINY)
    assert float(parts["invariance"]) == 0 and float(parts["variance"]) == 0  # std 1.5 > 1: no hinge
    uncorrelated = float(parts["covariance"])
    assert uncorrelated < 0.1
    correlated = z.clone()
    correlated[:, 1] = correlated[:, 0]  # cov 2.25 twice in each view: 2 * 2 * 2.25**2 / 16 = 1.27
    assert float(vicreg_loss(correlated, correlated, TINY)[1]["covariance"]) == pytest.approx(
        1.27 + uncorrelated, abs=0.1)
    collapsed = torch.zeros(8, 16)
    loss, parts = vicreg_loss(collapsed, collapsed + 0.5, TINY)
    assert float(parts["variance"]) == pytest.approx(1 - 1e-2, abs=1e-6)  # two views halved: 1 - sqrt(1e-4)
    assert float(parts["invariance"]) == pytest.approx(0.25) and float(parts["covariance"]) == 0
    assert float(loss) == pytest.approx(25 * 0.25 + 25 * 0.99, abs=1e-4)


def test_the_loss_is_finite_its_gradient_flows_and_it_falls_on_a_toy_run(records):
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, batch_size=len(records))
    model = Elf2Net(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    views = view_pairs(records, ViewRecipe(), elf2.default_settings(config), (0, 0))
    x = elf2.to_input(views.reshape(-1, 2, 64, 64), "cpu")
    b = len(records)
    losses = []
    for step in range(25):
        _, z = model(x)
        loss, _ = vicreg_loss(z[:b], z[b:], config)
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            stem = model.encoder[0].weight.grad
            assert torch.isfinite(loss) and stem is not None and float(stem.abs().sum()) > 0
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses


# --- training, files, loading
def test_a_run_writes_checkpoints_and_a_card_with_the_zoom(run, records):
    out, history = run
    assert [h["epoch"] for h in history] == [1, 2]
    for h in history:
        assert np.isfinite([h["train_loss"], h["val_loss"], h["val_fingerprint_std"]]).all()
        assert h["images_per_second"] > 0
    card = read_model_card(out / "last.safetensors")
    assert card["format"] == elf2.ELF2_FORMAT and card["architecture"] == elf2.ARCHITECTURE
    assert card["render_settings"]["channels"] == ["bands", "bands-zoom"]
    assert card["render_settings"]["zoom_window_ev"] == 1.0 and card["render_settings"]["image_size"] == 64
    assert card["recipe"] == ViewRecipe().to_dict() and card["config"] == TINY.to_dict()
    assert card["data_hash"] == elf2.records_hash(records) and (card["n_train"], card["n_val"]) == (9, 3)
    assert card["images_per_second"] == history[-1]["images_per_second"]
    best = min(history, key=lambda h: h["val_loss"])["epoch"]
    assert read_model_card(out)["epoch"] == best  # the folder resolves to best.safetensors
    # the paper's reader refuses an elf-2 file by name instead of misreading it
    with pytest.raises(checkpoint.CheckpointError, match="elf2-model/1"):
        checkpoint.read_card(out / "last.safetensors")


def test_resuming_after_an_interruption_equals_an_uninterrupted_run(run, records, tmp_path):
    out, history = run
    first = elf2.train(records, TINY, tmp_path, progress=False, stop_after_epoch=1)
    assert len(first) == 1 and not (tmp_path / "last.safetensors").read_bytes() == (
        out / "last.safetensors").read_bytes()
    resumed = elf2.train(records, TINY, tmp_path, progress=False)
    assert resumed[0] == first[0]  # epoch 1 read back from the checkpoint (timings too), not trained again
    assert _timeless(resumed) == _timeless(history)
    with safe_open(str(out / "last.safetensors"), "pt") as a, safe_open(str(tmp_path / "last.safetensors"),
                                                                        "pt") as b:
        assert sorted(a.keys()) == sorted(b.keys())
        for key in a.keys():
            assert torch.equal(a.get_tensor(key), b.get_tensor(key)), key


def test_resuming_with_another_config_is_refused(run, records):
    out, _ = run
    with pytest.raises(checkpoint.CheckpointError, match=r"another config .*learning_rate"):
        elf2.train(records, dataclasses.replace(TINY, learning_rate=5e-4), out, progress=False)


def test_training_reads_no_label(records, tmp_path, monkeypatch):
    import pandas as pd

    import elfutils.data.dataset as dataset

    def refuse(*args, **kwargs):
        raise AssertionError("the trainer read a label")

    for name in ("flatness_labels", "flat_band_pool", "structure_records", "flat_band_ids"):
        monkeypatch.setattr(dataset, name, refuse)
    monkeypatch.setattr(pd, "read_csv", refuse)
    history = elf2.train(records, dataclasses.replace(TINY, epochs=1), tmp_path, progress=False)
    assert len(history) == 1


def test_load_fingerprinter_encodes_elf2_into_98_numbers(run, records, tmp_path):
    out, _ = run
    fp = load_fingerprinter(out, device="cpu")
    assert isinstance(fp.net, Elf2Net) and fp.fingerprint_length == 98
    assert fp.settings == ChannelSettings(image_size=64, channels=("bands", "bands-zoom"))
    images, _, _ = fp.render(records[:4])
    assert images.shape == (4, 2, 64, 64)
    X = fp.encode(images)
    assert X.shape == (4, 98) and X.dtype == np.float32 and np.isfinite(X).all()
    np.testing.assert_allclose(X, fp.fingerprints(records[:4]))
    with torch.no_grad():  # BN folded for encoding: the same function as the training graph in eval mode
        direct = fp.net.fingerprint(elf2.to_input(images, "cpu")).numpy()
    np.testing.assert_allclose(X, direct, rtol=1e-4, atol=1e-4)
    assert np.ptp(X, axis=0).max() > 0  # materials get different fingerprints
    with pytest.raises(ValueError, match=r"images must be \(N, 2, 64, 64\), not \(4, 64, 64\)"):
        fp.encode(images[:, 0])
    # the float16 export loads the same way, fingerprints within half-precision rounding
    exported = elf2.export_model(out, tmp_path / "export" / "best.safetensors")
    assert exported.stat().st_size < 50 * 2**20 and exported.with_suffix(".json").is_file()
    net, config, card = load_network(exported)
    assert isinstance(net, Elf2Net) and card["weights_dtype"] == "float16" and config == TINY
    half = load_fingerprinter(exported, device="cpu").encode(images)
    np.testing.assert_allclose(half, X, atol=0.05 * np.abs(X).max())


def test_an_edited_or_damaged_elf2_card_is_refused(run, tmp_path):
    out, _ = run
    with safe_open(str(out / "last.safetensors"), "pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        card = json.loads(fh.metadata()["elf_card"])
    edited = {**card, "config": {**card["config"], "image_size": 96}}
    save_file(tensors, str(tmp_path / "edited.safetensors"), metadata={"elf_card": json.dumps(edited)})
    with pytest.raises(checkpoint.CheckpointError, match="image_size 96 but its render settings say 64"):
        load_fingerprinter(tmp_path / "edited.safetensors", device="cpu")
    tensors["head.2.bias"] = tensors["head.2.bias"] + 1
    save_file(tensors, str(tmp_path / "damaged.safetensors"), metadata={"elf_card": json.dumps(card)})
    with pytest.raises(checkpoint.CheckpointError, match="do not match the sha256"):
        load_network(tmp_path / "damaged.safetensors")
    unknown = {**card, "architecture": "elf9"}
    save_file(tensors, str(tmp_path / "unknown.safetensors"), metadata={"elf_card": json.dumps(unknown)})
    with pytest.raises(checkpoint.CheckpointError, match="unknown architecture 'elf9'"):
        read_model_card(tmp_path / "unknown.safetensors")


def test_the_yardstick_featurizes_with_a_loaded_elf2(run, records):
    out, _ = run
    rep = yardstick.from_model("elf-2", load_fingerprinter(out, device="cpu"), p=2.0)
    featurize = rep.build(records)
    X = featurize(records, yardstick.NO_CHANGE)
    assert X.shape == (len(records), 98) and np.isfinite(X).all()
    wider = featurize(records[:3], lambda s: s.replace(line_width_px=3.0))
    assert wider.shape == (3, 98) and not np.allclose(wider, X[:3])
    rows = yardstick.robustness(featurize, 2.0, records, X, [0, 1, 2], yardstick.PERTURBATIONS[:2])
    assert [r["n"] for r in rows] == [3, 3] and all(r["changed"] > 0 for r in rows)


# --- the command
def test_the_command_help_does_no_work():
    code = ("import runpy, sys\nsys.argv = ['train_elf2.py', '--help']\ntry:\n"
            "    runpy.run_path('scripts/train_elf2.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('torch imported:', 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "--time-limit" in done.stdout and "torch imported: False" in done.stdout, done.stdout + done.stderr


def test_the_command_refuses_test_data(fixture_records, tmp_path):
    command = runpy.run_path(str(ROOT / "scripts" / "train_elf2.py"), run_name="train_elf2")
    with pytest.raises(SystemExit, match="2dmatpedia-dft-bands"):
        command["main"](["--profile", "smoke", "--out", str(tmp_path)])
    records = list(fixture_records.values())[:2]
    assert command["records_from_test_data"](records, ROOT / "data") == [r.material_id for r in records]
    stored = [dataclasses.replace(r, source=f"gpaw:{r.material_id}") for r in records]
    assert command["records_from_test_data"](stored, ROOT / "data") == []


def test_a_reconstruction_loss_adds_a_decoder_and_its_term():
    """reconstruction_weight > 0: a decoder redraws (N, C, S, S) views from the fingerprints and its binary
    cross-entropy, times the weight, joins VICReg; at 0 there is no decoder and the term is zero."""
    torch.manual_seed(0)
    x = (torch.rand(8, TINY.in_channels, TINY.image_size, TINY.image_size) > 0.9).float()
    plain = elf2.Elf2Net(TINY)
    assert plain.decoder is None
    _, parts, f = elf2.objective(plain, x, TINY, torch.device("cpu"), "fp32")
    assert float(parts["reconstruction"]) == 0.0 and f.shape == (8, TINY.fingerprint_length)
    config = dataclasses.replace(TINY, reconstruction_weight=10.0)
    model = elf2.Elf2Net(config)
    assert model.decoder(f.detach()).shape == x.shape
    with_rec, parts, _ = elf2.objective(model, x, config, torch.device("cpu"), "fp32")
    vicreg, _ = elf2.vicreg_loss(*model(x)[1].split(4), config)
    assert float(parts["reconstruction"]) > 0
    assert float(with_rec) == pytest.approx(float(vicreg) + 10.0 * float(parts["reconstruction"]), rel=1e-5)
    assert elf2.Elf2Config.from_dict({k: v for k, v in TINY.to_dict().items()
                                      if k != "reconstruction_weight"}).reconstruction_weight == 0.0
