"""elf-2 as a shipped option: the committed model, its fingerprints of a profile (a book stage keyed by the
model file's bytes) and `elf similar --model elf2` over a profile's materials."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from elfutils.book import stages
from elfutils.book.stages import elf2 as elf2_stage
from elfutils.cli import main as elf
from elfutils.nn.fingerprinter import ELF2_MODEL, load_fingerprinter, read_model_card

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_committed_elf2_is_small_and_its_card_carries_recipe_data_and_render_settings():
    path = elf2_stage.model_path()
    assert path.stat().st_size <= 50 * 2**20
    card = read_model_card(ELF2_MODEL)
    assert card["architecture"] == "elf2-vicreg" and card["weights_dtype"] == "float16"
    assert {"recipe", "data_hash", "render_settings", "config", "history", "profile"} <= set(card)
    settings = load_fingerprinter(ELF2_MODEL, device="cpu").settings
    assert settings.channels == ("bands", "bands-zoom") and settings.zoom_window_ev == 1.0


def test_the_stage_key_follows_the_model_files_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(stages.dataset, "data_key", lambda profile: "same data")
    copy = tmp_path / "elf2.safetensors"
    shutil.copy(elf2_stage.model_path(), copy)
    monkeypatch.setattr(elf2_stage, "model_path", lambda: copy)
    before = elf2_stage.fingerprints_key("smoke")
    with open(copy, "r+b") as fh:  # one byte of the weights changed: another model
        fh.seek(-1, 2)
        last = fh.read(1)
        fh.seek(-1, 2)
        fh.write(bytes([last[0] ^ 1]))
    assert elf2_stage.fingerprints_key("smoke") != before


@pytest.fixture
def smoke_records(fixture_records, monkeypatch, tmp_path):
    """The smoke profile's materials stubbed by the 12 real band files, in an empty cache."""
    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path / "cache"))
    records = list(fixture_records.values())
    monkeypatch.setattr(stages.dataset, "load_dataset", lambda profile: records)
    monkeypatch.setattr(stages.dataset, "data_key", lambda profile: "twelve real files")
    monkeypatch.setattr(stages.dataset, "require_store", lambda profile: None)
    return records


def test_elf_similar_with_model_elf2_searches_the_profile_encoded_by_elf2(smoke_records, fixture_files,
                                                                            tmp_path, capsys):
    query = shutil.copy(next(p for p in fixture_files if p.stem == "2dm-21"), tmp_path / "mine.json")
    out = tmp_path / "hits.csv"
    assert elf(["similar", str(query), "--profile", "smoke", "--model", ELF2_MODEL, "--k", "3",
                "--device", "cpu", "--no-cluster", "--out", str(out)]) == 0, capsys.readouterr().err
    hits = pd.read_csv(out)
    assert hits.material_id.iloc[0] == "2dm-21"  # the same bands through the same model: itself first
    table = elf2_stage.fingerprints("smoke")
    assert len(table) == len(smoke_records) and table.shape[1] == 2 + 98
    capsys.readouterr()
    assert elf(["similar", str(query), "--profile", "smoke", "--model", "elf-resnet18"]) == 2
    assert "--model elf2" in capsys.readouterr().err


def test_elf_encode_model_elf2_from_a_store_draws_with_the_cards_settings(tiny_store, tmp_path):
    """`elf encode --model elf2 --store`: two-plane images drawn with the card's settings, 98 numbers each, as
    the fingerprinter gives for the same records."""
    import numpy as np

    from elfutils.analysis.fingerprints import fingerprint_matrix

    out = tmp_path / "elf2.parquet"
    assert elf(["encode", "--model", ELF2_MODEL, "--store", str(tiny_store.path), "--chunk", "3", "--out",
                str(out), "--quiet", "--device", "cpu"]) == 0
    table = pd.read_parquet(out).sort_values("material_id")
    model = load_fingerprinter(ELF2_MODEL, device="cpu")
    expected = model.fingerprints(sorted(tiny_store.stream(), key=lambda bs: bs.material_id))
    np.testing.assert_allclose(fingerprint_matrix(table), expected, rtol=1e-4, atol=1e-4)
