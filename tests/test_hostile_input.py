"""Nothing lost, nothing silent: the store, the checkpoints and the commands under concurrency, damage and
hostile input. Each test is one case that lost or corrupted data with exit status 0, or crashed, before."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from elfutils.cli import main as elf
from elfutils.data.readers import read_band_file
from elfutils.data.store import CLIP_EV, BandStore
from elfutils.errors import BandDataError

PY = sys.executable


def _copies(folder: Path, source: Path, first_id: int, n: int) -> list[str]:
    """``n`` copies of a real band file under new 2Dmatpedia-style ids (the id is the file name)."""
    folder.mkdir(parents=True)
    ids = [f"2dm-{first_id + i}" for i in range(n)]
    for mid in ids:
        shutil.copyfile(source, folder / f"{mid}.json")
    return ids


# --- 1. two writers on one store ---------------------------------------------------------------------------
def test_two_concurrent_imports_keep_every_material(tmp_path, fixture_files):
    store = tmp_path / "shared.elfstore"
    a = _copies(tmp_path / "a", fixture_files[0], 100000, 60)
    b = _copies(tmp_path / "b", fixture_files[1], 200000, 60)
    code = ("import sys; from elfutils.data.importer import import_bands; "
            "r = import_bands([sys.argv[1]], sys.argv[2], batch_size=3, progress=False); "
            "print(len(r.imported))")
    procs = [subprocess.Popen([PY, "-c", code, str(tmp_path / name), str(store)], stdout=subprocess.PIPE,
                              text=True) for name in ("a", "b")]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and outs == ["60", "60"]
    assert sorted(BandStore(store).ids()) == sorted(a + b)  # 120: no part of one writer replaced the other's


def test_a_part_name_is_never_reused(tmp_path, fixture_records):
    """Even a writer that ignored the lock cannot replace a part: os.link refuses the name, the next is
    taken."""
    store = BandStore(tmp_path / "s.elfstore")
    records = list(fixture_records.values())
    store.append(records[:1])
    stale = BandStore(store.path)  # a writer whose idea of the next number is out of date: 1, then 2
    calls = iter([1, 2])
    stale._next_part_number = lambda: next(calls)
    stale.append(records[1:2])
    assert [p.name for p in store.part_paths()] == ["part-000001.npz", "part-000002.npz"]
    assert sorted(BandStore(store.path).ids()) == sorted(r.material_id for r in records[:2])


def test_a_killed_writers_temporary_files_are_cleared_by_the_next(tmp_path, fixture_records):
    store = BandStore(tmp_path / "t.elfstore")
    store.path.mkdir()
    (store.path / ".part-000001.npz.abc123.tmp").write_bytes(b"half")
    store.append(list(fixture_records.values())[:1])
    assert not list(store.path.glob("*.tmp"))


# --- 2. a damaged part is an error naming it, everywhere ---------------------------------------------------
@pytest.fixture
def three_part_store(tmp_path, fixture_records):
    store = BandStore(tmp_path / "three.elfstore")
    records = list(fixture_records.values())
    for chunk in (records[:4], records[4:8], records[8:]):
        store.append(chunk)
    return store


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_part_stops_render_and_info_naming_the_part(tmp_path, three_part_store, capsys, damage):
    part = three_part_store.part_paths()[1]
    data = bytearray(part.read_bytes())
    if damage == "truncate":
        part.write_bytes(bytes(data[: len(data) // 2]))
    else:
        for i in range(200, len(data) - 200, 97):
            data[i] ^= 0xFF
        part.write_bytes(bytes(data))
    out = tmp_path / "stack.npz"
    assert elf(["render", str(three_part_store.path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert part.name in err and not out.exists()  # nothing rendered from a half-read store
    assert elf(["info", str(three_part_store.path)]) == 2
    assert part.name in capsys.readouterr().err
    with pytest.raises(BandDataError, match=part.name):
        BandStore(three_part_store.path).ids()


def test_a_part_whose_sizes_disagree_names_the_part_and_the_field(three_part_store):
    part = three_part_store.part_paths()[0]
    with np.load(part) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["nk"] = arrays["nk"].copy()
    arrays["nk"][0] += 5  # a hand edit: the records after it would shift silently
    np.savez_compressed(part, **arrays)
    with pytest.raises(BandDataError, match=rf"{part.name}: field 'kpoints'"):
        BandStore(three_part_store.path).ids()


# --- 3. values the store cannot hold
# -------------------------------------------------------------------------
def test_an_eigenvalue_beyond_float16_is_clipped_and_said(tmp_path, fixture_files, capsys):
    data = json.loads(fixture_files[0].read_text())
    efermi = float(data["efermi"])
    bands = np.asarray(data["bands"]["1"], dtype=float)
    nearest = int(np.abs(bands - efermi).min(axis=1).argmin())  # a band the store keeps
    data["bands"]["1"][nearest][0] = efermi + 70_000.0
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "2dm-777777.json").write_text(json.dumps(data))
    store = tmp_path / "clip.elfstore"
    assert elf(["import", str(folder), "--store", str(store), "--no-progress"]) == 0
    back = BandStore(store).get("2dm-777777")
    assert np.isfinite(back.energies).all()
    assert back.relative_energies().max() == pytest.approx(CLIP_EV)
    assert back.metadata["n_energies_clipped"] == 1
    assert elf(["info", str(store)]) == 0 and "2dm-777777" in capsys.readouterr().out


def test_a_store_with_one_unreadable_record_lists_the_rest_and_names_it(tmp_path, fixture_records, capsys):
    from elfutils.data.store import _encode

    records = list(fixture_records.values())[:3]
    arrays = _encode(records)
    arrays["energies"] = arrays["energies"].copy()
    arrays["energies"][:10] = np.inf  # what older code wrote for an eigenvalue beyond float16
    store = tmp_path / "old.elfstore"
    store.mkdir()
    np.savez_compressed(store / "part-000001.npz", **arrays)
    assert elf(["info", str(store)]) == 0  # the others are listed
    captured = capsys.readouterr()
    bad = records[0].material_id
    assert all(r.material_id in captured.out for r in records[1:])
    assert f"material {bad}" in captured.err and "NaN or infinite" in captured.err


# --- 4. and 5. checkpoints
# -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import torch

    from elfutils.nn.checkpoint import save_model
    from elfutils.nn.model import ElfAutoencoder, ElfConfig

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(path, ElfAutoencoder(ElfConfig(image_size=32, epochs=1)), {"epoch": 1, "history": []})
    return path


def _flip_tensor_bytes(path: Path, n: int = 2000) -> None:
    raw = bytearray(path.read_bytes())
    header = 8 + int.from_bytes(raw[:8], "little")  # safetensors: u64 header length, JSON header, then data
    for i in range(header + 100, min(header + 100 + n, len(raw))):
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))


def test_damaged_tensor_data_is_refused_naming_the_file(tmp_path, tiny_model):
    from elfutils.nn.checkpoint import CheckpointError, load_model

    damaged = tmp_path / "damaged.safetensors"
    shutil.copyfile(tiny_model, damaged)
    load_model(damaged)  # intact: loads
    _flip_tensor_bytes(damaged)
    with pytest.raises(CheckpointError, match=r"damaged\.safetensors: tensor data do not match the sha256"):
        load_model(damaged)


def test_resuming_from_a_damaged_last_checkpoint_stops_and_best_survives(tmp_path):
    from elfutils.nn.checkpoint import CheckpointError, load_model
    from elfutils.nn.model import ElfConfig
    from elfutils.nn.training import train

    rng = np.random.default_rng(0)
    images = (rng.random((24, 32, 32)) < 0.05).astype(np.uint8)
    ids = [f"m{i}" for i in range(24)]
    out = tmp_path / "run"
    config = ElfConfig(image_size=32, epochs=2, batch_size=8)
    train(images, config, out, ids=ids, device="cpu", progress=False, stop_after_epoch=1)
    last, best = out / "last.safetensors", out / "best.safetensors"
    assert not os.path.samefile(last, best)  # a copy: one damaged file cannot damage both
    _flip_tensor_bytes(last)
    with pytest.raises(CheckpointError, match=r"last\.safetensors: tensor data do not match"):
        train(images, config, out, ids=ids, device="cpu", progress=False)
    load_model(best)  # still intact


def test_non_finite_weights_are_refused_and_no_table_is_written(tmp_path, tiny_model, capsys):
    import torch

    from elfutils.images.stack import save_image_stack
    from elfutils.nn.checkpoint import CheckpointError, load_model, save_model

    model, _config, card = load_model(tiny_model)
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    nan_model = tmp_path / "nan.safetensors"
    save_model(nan_model, model, {k: v for k, v in card.items() if k not in ("config", "format")})
    with pytest.raises(CheckpointError, match="not finite"):
        load_model(nan_model)
    stack = tmp_path / "stack.npz"
    save_image_stack(stack, np.zeros((2, 32, 32), np.uint8), ["a", "b"], ["A", "B"])
    out = tmp_path / "fp.parquet"
    assert elf(["encode", "--model", str(nan_model), "--images", str(stack), "--out", str(out)]) == 2
    assert "not finite" in capsys.readouterr().err and not out.exists()


# --- 6. untrusted card sizes
# -------------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value", [("image_size", 32000), ("latent_channels", 100000), ("in_channels",
                                                                                              64),
                                         ("batch_size", "16")])
def test_a_card_asking_for_impossible_sizes_is_refused_at_load(tmp_path, tiny_model, field, value):
    from safetensors import safe_open
    from safetensors.torch import save_file

    from elfutils.nn.checkpoint import CheckpointError, load_model, read_card

    with safe_open(str(tiny_model), framework="pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        card = json.loads(fh.metadata()["elf_card"])
    card["config"][field] = value
    hostile = tmp_path / "hostile.safetensors"
    save_file(tensors, str(hostile), metadata={"elf_card": json.dumps(card)})
    with pytest.raises(CheckpointError, match=field):
        read_card(hostile)
    with pytest.raises(CheckpointError, match=field):
        load_model(hostile)


def test_similar_with_a_huge_card_is_one_line(tmp_path, tiny_model, fixture_files, capsys):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(tiny_model), framework="pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        card = json.loads(fh.metadata()["elf_card"])
    card["config"]["image_size"] = 32000
    hostile = tmp_path / "huge.safetensors"
    save_file(tensors, str(hostile), metadata={"elf_card": json.dumps(card)})
    table = tmp_path / "t.csv"
    pd.DataFrame({"material_id": ["a"], "formula": ["A"],
                  **{f"f{i}": [0.0] for i in range(98)}}).to_csv(table)
    assert elf(["similar", str(fixture_files[0]), "--model", str(hostile), "--fingerprints", str(table),
                "--no-cluster"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("elf similar:") and "image_size" in err and len(err.strip().splitlines()) == 1


# --- 7. deeply nested JSON
# ------------------------------------------------------------------------------------------
@pytest.fixture
def nested(tmp_path, fixture_files):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "2dm-999001.json").write_text("[" * 100_000 + "]" * 100_000)
    shutil.copyfile(fixture_files[0], folder / fixture_files[0].name)
    return folder


def test_deeply_nested_json_is_one_bad_file_in_every_command(tmp_path, nested, fixture_files, capsys):
    bad = nested / "2dm-999001.json"
    with pytest.raises(BandDataError, match="nested too deeply"):
        read_band_file(bad)
    assert elf(["info", str(bad), str(nested / fixture_files[0].name)]) == 0
    assert "nested too deeply" in capsys.readouterr().err
    assert elf(["render", str(bad), str(nested / fixture_files[0].name), "--out", str(tmp_path / "s.npz"),
                "--no-progress"]) == 0
    assert "nested too deeply" in capsys.readouterr().err and (tmp_path / "s.npz").exists()
    store = tmp_path / "n.elfstore"
    assert elf(["import", str(nested), "--store", str(store), "--no-progress"]) == 0
    assert BandStore(store).ids() == [fixture_files[0].stem]  # the batch went on with the rest
    assert "nested too deeply" in (store / "import-skipped.csv").read_text()


def test_a_deeply_nested_query_is_one_line_from_similar(tmp_path, nested, tiny_model, capsys):
    table = tmp_path / "t.csv"
    pd.DataFrame({"material_id": ["a"], "formula": ["A"],
                  **{f"f{i}": [0.0] for i in range(98)}}).to_csv(table)
    assert elf(["similar", str(nested / "2dm-999001.json"), "--model", str(tiny_model), "--fingerprints",
                str(table), "--no-cluster"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("elf similar:") and "nested too deeply" in err
    assert len(err.strip().splitlines()) == 1


# --- 8. a folder where a file is expected
# ----------------------------------------------------------------------------
def test_a_plain_folder_is_listed_not_taken_for_an_empty_store(tmp_path, fixture_files, capsys):
    folder = tmp_path / "plain"
    folder.mkdir()
    for f in fixture_files[:2]:
        shutil.copyfile(f, folder / f.name)
    assert elf(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "folder with 2 band file(s) (not a store)" in out and fixture_files[0].stem in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert elf(["info", str(empty)]) == 0  # an empty folder: nothing to list, nothing skipped
    assert "folder with 0 band file(s)" in capsys.readouterr().out
    with pytest.raises(BandDataError, match="a folder, not a band file nor a band store"):
        read_band_file(folder)
    assert elf(["render", str(folder), "--out", str(tmp_path / "x.npz"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "not a band file nor a band store" in err and "iter_band_structures" not in err


# --- 10. duplicate ids in a fingerprint table
# ----------------------------------------------------------------------------
def test_a_fingerprint_table_with_a_repeated_id_is_refused(tmp_path, capsys):
    from elfutils.analysis.fingerprints import read_fingerprints, synthetic_fingerprints

    table, _ = synthetic_fingerprints()
    doubled = pd.concat([table, table.iloc[[5]]], ignore_index=True)
    path = tmp_path / "dup.parquet"
    doubled.to_parquet(path)
    with pytest.raises(ValueError, match=r"dup\.parquet: 1 material id\(s\) appear more than once \(m5\)"):
        read_fingerprints(path)
    for command in (["duplicates", str(path), "--out", str(tmp_path / "d.csv")],
                    ["cluster", str(path), "--out", str(tmp_path / "c.parquet")]):
        assert elf(command) == 2
        assert "appear more than once" in capsys.readouterr().err


# --- 12. smaller
# ------------------------------------------------------------------------------------------------------------
def test_render_checks_the_output_before_rendering(tmp_path, fixture_files, capsys, monkeypatch):
    from elfutils.images import render

    calls = []
    monkeypatch.setattr(render, "render_band_image", lambda *a, **k: calls.append(1))
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert elf(["render", *map(str, fixture_files), "--out", str(blocker / "stack.npz"),
                "--no-progress"]) == 2
    assert "cannot write" in capsys.readouterr().err and calls == []


@pytest.mark.parametrize("content,message", [
    (None, "empty table"),
    ("material_id,formula," + ",".join(f"f{i}" for i in range(98)) + "\na,A,notanumber" + ",0" * 97 + "\n",
     "notanumber"),
    (b"PAR1 garbage that is not parquet", "not a readable parquet table")])
def test_table_errors_name_the_file(tmp_path, content, message, capsys):
    path = tmp_path / ("t.parquet" if isinstance(content, bytes) else "t.csv")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content or "")
    assert elf(["duplicates", str(path), "--out", str(tmp_path / "d.csv")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err and "Traceback" not in err


def test_info_into_a_closed_pipe_is_quiet():
    from elfutils.data.dataset import dft_store_path

    # the dataset's 1950 lines overflow the pipe's buffer long after `head` has gone
    result = subprocess.run(f"{PY} -m elfutils.cli info {dft_store_path()} | head -1", shell=True,
                            capture_output=True, text=True, timeout=300)
    assert result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_a_path_without_labels_is_an_error_not_none_none(tmp_path, fixture_files):
    data = json.loads(fixture_files[0].read_text())
    data["labels_dict"] = {}
    path = tmp_path / "2dm-5.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BandDataError, match=r"field 'labels_dict'.*unlabelled"):
        read_band_file(path)


def test_store_records_are_unchanged_by_the_clip_inside_the_window(tmp_path, fixture_records):
    """The clip only touches points beyond CLIP_EV: a record within the window round-trips as before."""
    record = dataclasses.replace(next(iter(fixture_records.values())), material_id="x")
    store = BandStore(tmp_path / "w.elfstore")
    store.append([record])
    back = store.get("x")
    assert "n_energies_clipped" not in back.metadata
    assert back.nkpoints == record.nkpoints
