"""Where elf writes, under hostile conditions (issue #34): symbolic links planted in a store or beside an
output, a read-only or full disk, temporary files of killed writers, a plain folder given as a store, and two
imports writing their skipped lists at once. Each test is one case that overwrote a file outside, merged a
foreign part, ended in a traceback or lost a skip list before.

The read-only and full disks are real: ``unshare -rm`` gives the test a mount namespace of its own, where a
read-only bind mount and a small filled tmpfs stand in for them (tests run as root, and chmod stops no root
writes). Where namespaces are not allowed, those tests are skipped; a full disk is then still simulated by an
ENOSPC from ``os.fsync`` (as a real file system reports delayed-allocation failures).
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from elfutils.cli import main as elf
from elfutils.data.importer import SKIPPED_FILE
from elfutils.data.store import LOCK_FILE, BandStore
from elfutils.errors import BandDataError

PY = sys.executable


def _one_line(err: str, command: str) -> str:
    """The single ``elf <command>: ...`` line of ``err`` (no traceback, no second message)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"elf {command}: "), err
    return lines[0]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


# --- 2. symbolic links where elf writes, and parts that are not this store's --------------------------------
def test_a_symlinked_import_skip_list_is_refused(tmp_path, fixture_files, capsys):
    store = tmp_path / "s.elfstore"
    assert elf(["import", str(fixture_files[0]), "--store", str(store), "--no-progress"]) == 0
    outside = tmp_path / "precious.csv"
    outside.write_text("keep me\n")
    (store / SKIPPED_FILE).unlink()
    (store / SKIPPED_FILE).symlink_to(outside)
    capsys.readouterr()
    code = elf(["import", str(fixture_files[1]), str(tmp_path / "missing.json"), "--store", str(store),
                "--no-progress"])
    err = capsys.readouterr().err
    assert outside.read_text() == "keep me\n"  # nothing written through the link
    line = _one_line(err, "import")
    assert code == 2 and str(store / SKIPPED_FILE) in line and "symbolic link" in line
    assert BandStore(store).ids() == [fixture_files[0].stem]  # refused before anything was imported


@pytest.mark.parametrize("link", ["stack.skipped.csv", "stack.npz"])
def test_a_symlink_beside_a_render_output_is_refused(tmp_path, fixture_files, capsys, link):
    outside = tmp_path / "precious.csv"
    outside.write_text("keep me\n")
    (tmp_path / link).symlink_to(outside)
    code = elf(["render", str(fixture_files[0]), str(tmp_path / "missing.json"), "--out",
                str(tmp_path / "stack.npz"), "--no-progress"])
    err = capsys.readouterr().err
    assert outside.read_text() == "keep me\n"
    line = _one_line(err, "render")
    assert code == 2 and str(tmp_path / link) in line and "symbolic link" in line
    assert (tmp_path / link).is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {"precious.csv", link})


def test_a_symlinked_lock_creates_nothing_outside(tmp_path, fixture_files, capsys):
    store = tmp_path / "s.elfstore"
    assert elf(["import", str(fixture_files[0]), "--store", str(store), "--no-progress"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (store / LOCK_FILE).unlink()
    (store / LOCK_FILE).symlink_to(elsewhere / "created-by-elf")  # dangling: open(..., "a") would create it
    capsys.readouterr()
    code = elf(["import", str(fixture_files[1]), "--store", str(store), "--no-progress"])
    err = capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []
    line = _one_line(err, "import")
    assert code == 2 and str(store / LOCK_FILE) in line and "symbolic link" in line
    with pytest.raises(OSError, match="symbolic link"):  # the library refuses too, not only the command
        BandStore(store).append([dataclasses.replace(BandStore(store).get(fixture_files[0].stem),
                                                     material_id="other")])


@pytest.mark.parametrize("kind", ["symlink to another store's part", "folder"])
def test_a_part_that_is_not_a_file_of_this_store_is_an_error_naming_it(tmp_path, fixture_records, kind):
    records = list(fixture_records.values())
    other = BandStore(tmp_path / "other.elfstore")
    other.append(records[:1])
    store = BandStore(tmp_path / "s.elfstore")
    store.append(records[1:2])
    foreign = store.path / "part-000002.npz"
    if kind == "folder":
        foreign.mkdir()
    else:
        foreign.symlink_to(other.part_paths()[0])
    for read in (lambda s: s.ids(), lambda s: list(s.stream()), lambda s: s.part_paths()):
        with pytest.raises(BandDataError, match=r"part-000002\.npz: not a regular file of this store"):
            read(BandStore(store.path))
    with pytest.raises(BandDataError, match=r"part-000002\.npz"):  # nor is anything appended beside it
        BandStore(store.path).append(records[2:3])


# --- 5. read-only and full disks: one line naming the path, nothing half-written ----------------------------
@pytest.fixture(scope="module")
def inputs(tmp_path_factory, fixture_files):
    """What the writing commands read: a tiny 32-px model, an image stack, a band store, fingerprint
    tables."""
    import pandas as pd
    import torch

    from elfutils.analysis.fingerprints import synthetic_fingerprints
    from elfutils.images.stack import save_image_stack
    from elfutils.nn.checkpoint import save_model
    from elfutils.nn.model import ElfAutoencoder, ElfConfig

    root = tmp_path_factory.mktemp("inputs")
    torch.manual_seed(0)
    model = save_model(root / "tiny.safetensors", ElfAutoencoder(ElfConfig(image_size=32, epochs=1)),
                       {"epoch": 1, "history": []})
    rng = np.random.default_rng(0)
    stack = save_image_stack(root / "stack.npz", (rng.random((8, 32, 32)) < 0.05).astype(np.uint8),
                             [f"2dm-{i}" for i in range(8)], ["X"] * 8)
    store = root / "s.elfstore"
    assert elf(["import", *map(str, fixture_files[:2]), "--store", str(store), "--no-progress"]) == 0
    table, _ = synthetic_fingerprints()
    fingerprints = root / "fp.csv"
    table.to_csv(fingerprints, index=False)
    queries = root / "queries.csv"
    pd.DataFrame(table.iloc[:2]).to_csv(queries, index=False)
    return {"model": model, "stack": stack, "store": store, "fp": fingerprints, "queries": queries,
            "files": [str(f) for f in fixture_files[2:4]]}


def writing_commands(i) -> dict[str, tuple[list[str], str]]:
    """{name: (argv with {dir} for the output folder, the output path an error must name)}"""
    small = ["--threads", "1"]
    return {
        "encode": (["encode", "--model", str(i["model"]), "--images", str(i["stack"]), "--out",
                    "{dir}/fp.csv", "--quiet", *small], "{dir}/fp.csv"),
        "encode --store": (["encode", "--model", str(i["model"]), "--store", str(i["store"]), "--out",
                            "{dir}/fp.parquet", "--quiet", *small], "{dir}/fp.parquet"),
        "import": (["import", *i["files"], "--store", "{dir}/s.elfstore", "--no-progress"],
                   "{dir}/s.elfstore"),
        "similar --out": (["similar", str(i["queries"]), "--fingerprints", str(i["fp"]), "--no-cluster",
                           "--out", "{dir}/similar.csv"], "{dir}/similar.csv"),
        "cluster": (["cluster", str(i["fp"]), "--out", "{dir}/clusters.csv"], "{dir}/clusters.csv"),
        "duplicates": (["duplicates", str(i["fp"]), "--out", "{dir}/pairs.csv"], "{dir}/pairs.csv"),
        "train": (["train", "--images", str(i["stack"]), "--out", "{dir}/run", "--epochs", "1",
                   "--batch-size", "4", "--device", "cpu", "--quiet", *small], "{dir}/run"),
    }


# Runs inside `unshare -rm` (a mount namespace of its own): mounts a read-only folder and a full tmpfs, then
# runs every command into each, in one process (torch and UMAP are imported once).
_HARNESS = r"""
import contextlib, io, json, os, subprocess, sys
cfg = json.loads(sys.argv[1])
ro, full = cfg["read-only"], cfg["full"]
subprocess.run(["mount", "--bind", ro, ro], check=True)
subprocess.run(["mount", "-o", "remount,bind,ro", ro], check=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", full], check=True)
fd = os.open(os.path.join(full, "filler"), os.O_WRONLY | os.O_CREAT)
try:
    while True:
        os.write(fd, b"\0" * 4096)
except OSError:
    pass
os.close(fd)
from elfutils.cli import main
results = {}
for name, argv in cfg["commands"].items():
    for disk, folder in (("read-only", ro), ("full", full)):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = main([a.replace("{dir}", folder) for a in argv])
            except BaseException as exc:
                rc = f"raised {type(exc).__name__}: {exc}"
        left = sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)
        results[f"{name} / {disk}"] = {"rc": rc, "err": err.getvalue(), "left": left}
        for d, _, fs in os.walk(folder):  # the next command starts from an empty (or only filled) folder
            for f in fs:
                if f != "filler":
                    os.unlink(os.path.join(d, f))
print("RESULTS" + json.dumps(results))
"""


def _namespaces_allowed() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture(scope="module")
def on_bad_disks(inputs, tmp_path_factory):
    """{"<command> / <disk>": {rc, err, left}} for every writing command on a read-only and on a full disk."""
    if not _namespaces_allowed():
        pytest.skip("unshare -rm (user and mount namespaces) is not allowed here")
    root = tmp_path_factory.mktemp("disks")
    folders = {disk: root / disk for disk in ("read-only", "full")}
    for folder in folders.values():
        folder.mkdir()
    cfg = {**{k: str(v) for k, v in folders.items()},
           "commands": {name: argv for name, (argv, _) in writing_commands(inputs).items()}}
    proc = subprocess.run(["unshare", "-rm", PY, "-c", _HARNESS, json.dumps(cfg)], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0 and "RESULTS" in proc.stdout, proc.stderr[-3000:]
    results = json.loads(proc.stdout.split("RESULTS", 1)[1])
    return {key: {**value, "folder": str(folders[key.rsplit(" / ", 1)[1]])} for key, value in results.items()}


@pytest.mark.parametrize("disk", ["read-only", "full"])
@pytest.mark.parametrize("command", ["encode", "encode --store", "import", "similar --out", "cluster",
                                     "duplicates", "train"])
def test_a_read_only_or_full_disk_is_one_line_naming_the_path(on_bad_disks, inputs, command, disk):
    got = on_bad_disks[f"{command} / {disk}"]
    assert isinstance(got["rc"], int) and got["rc"] != 0, got
    expected = writing_commands(inputs)[command][1].replace("{dir}", got["folder"])
    line = _one_line(got["err"], command.split()[0])
    assert expected in line, line
    reason = "Read-only file system" if disk == "read-only" else "No space left on device"
    assert reason in line, line
    # nothing half-written: no output, no temporary file; at most a store's (empty) lock file
    assert [f for f in got["left"] if f not in ("filler", f"s.elfstore/{LOCK_FILE}")] == [], got["left"]


def test_a_full_disk_at_fsync_is_one_line_and_keeps_the_old_output(tmp_path, inputs, monkeypatch, capsys):
    """The same without namespaces: the file system reports ENOSPC when the data is flushed."""
    out = tmp_path / "pairs.csv"
    out.write_text("the old table\n")

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    code = elf(["duplicates", str(inputs["fp"]), "--out", str(out)])
    line = _one_line(capsys.readouterr().err, "duplicates")
    assert code == 2 and line == f"elf duplicates: cannot write {out}: No space left on device"
    assert out.read_text() == "the old table\n" and _files(tmp_path) == ["pairs.csv"]


_KILLED_WRITER = r"""
import sys, time
from elfutils.io import atomic_write_via_path

def write(tmp):
    with open(tmp, "w") as fh:
        fh.write("half a table")
    print("writing", flush=True)
    time.sleep(600)

atomic_write_via_path(sys.argv[1], write)
"""


def test_the_next_run_removes_the_temporary_file_of_a_killed_writer(tmp_path, inputs):
    out = tmp_path / "fp.csv"
    killed, alive = (subprocess.Popen([PY, "-c", _KILLED_WRITER, str(out)], stdout=subprocess.PIPE, text=True)
                     for _ in range(2))
    try:
        assert killed.stdout.readline() == "writing\n" and alive.stdout.readline() == "writing\n"
        killed.kill()  # kill -9
        killed.wait()
        temps = sorted(tmp_path.glob(".fp.csv.*.tmp"))
        assert len(temps) == 2
        assert elf(["encode", "--model", str(inputs["model"]), "--images", str(inputs["stack"]), "--out",
                    str(out), "--quiet"]) == 0
        left = sorted(tmp_path.glob(".fp.csv.*.tmp"))
        assert len(left) == 1 and str(alive.pid) in left[0].name  # a live writer's file is left alone
        assert out.exists()
    finally:
        for proc in (killed, alive):
            proc.kill()
            proc.wait()


# --- 11. a folder that is not a store -----------------------------------------------------------------------
def test_import_refuses_a_folder_that_holds_files_and_is_not_a_store(tmp_path, fixture_files, capsys):
    folder = tmp_path / "bands"
    folder.mkdir()
    for path in fixture_files[:2]:
        shutil.copy(path, folder)
    before = _files(folder)
    code = elf(["import", str(fixture_files[2]), "--store", str(folder), "--no-progress"])
    line = _one_line(capsys.readouterr().err, "import")
    assert code == 2 and line.startswith(f"elf import: {folder}: it holds files and is not a band store")
    assert _files(folder) == before  # no part, no lock, no skipped list: the band files are as they were
    # what a store holds is fine: an empty folder, and a store whose first import could read nothing
    empty = tmp_path / "empty"
    empty.mkdir()
    assert elf(["import", str(fixture_files[2]), "--store", str(empty), "--no-progress"]) == 0
    nothing = tmp_path / "nothing.elfstore"
    assert elf(["import", str(tmp_path / "missing.json"), "--store", str(nothing), "--no-progress"]) == 2
    assert elf(["import", str(fixture_files[2]), "--store", str(nothing), "--no-progress"]) == 0


# --- 14. concurrent imports keep both skip lists ------------------------------------------------------------
def test_two_concurrent_imports_keep_both_skip_lists(tmp_path, fixture_files):
    store = tmp_path / "shared.elfstore"
    broken = {}
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(6):
            shutil.copyfile(fixture_files[i % 2], folder / f"2dm-{name}{i}.json")
        broken[name] = [folder / f"2dm-broken-{name}{i}.json" for i in range(3)]
        for path in broken[name]:
            path.write_text("{")
    procs = [subprocess.Popen([PY, "-m", "elfutils.cli", "import", str(tmp_path / name), "--store",
                               str(store), "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for name in ("a", "b")]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with open(store / SKIPPED_FILE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {row["item"] for row in rows} == {str(p) for p in broken["a"] + broken["b"]}
    runs = {row["item"]: row["run"] for row in rows}  # and which run skipped each
    assert len({runs[str(p)] for p in broken["a"]}) == 1 and len({runs[str(p)] for p in broken["b"]}) == 1
    assert runs[str(broken["a"][0])] != runs[str(broken["b"][0])]
    assert len(BandStore(store)) == 12
