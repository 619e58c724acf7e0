"""elfutils.io: an atomic write leaves the old file or the whole new one, never half a file or a temp file."""

from __future__ import annotations

import json
import os
import stat

import pytest

from elfutils.io import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    atomic_write_via_path,
)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_round_trip_and_conveniences(tmp_path):
    path = tmp_path / "sub" / "dir" / "a.bin"  # missing folders are made
    assert atomic_write(path, lambda fh: fh.write(b"\x00abc")) == path
    assert path.read_bytes() == b"\x00abc"

    assert atomic_write_bytes(str(tmp_path / "b.bin"), b"xyz") == tmp_path / "b.bin"  # str paths too
    assert (tmp_path / "b.bin").read_bytes() == b"xyz"

    atomic_write_text(tmp_path / "c.txt", "Grüße\n")
    assert (tmp_path / "c.txt").read_bytes() == "Grüße\n".encode()

    atomic_write_json(tmp_path / "d.json", {"b": 1, "a": tmp_path})
    text = (tmp_path / "d.json").read_text()
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')  # sorted keys
    assert json.loads(text) == {"a": str(tmp_path), "b": 1}  # str() for what JSON cannot take

    def via_path(tmp):
        assert isinstance(tmp, str) and os.path.dirname(tmp) == str(tmp_path)  # beside the target
        with open(tmp, "w") as fh:
            fh.write("by name")

    atomic_write_via_path(tmp_path / "e.txt", via_path)
    assert (tmp_path / "e.txt").read_text() == "by name"

    atomic_write_bytes(path, b"replaced")  # an existing file is replaced
    assert path.read_bytes() == b"replaced"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "a.bin", "b.bin", "c.txt", "d.json", "e.txt"]


@pytest.mark.parametrize("function", [atomic_write, atomic_write_via_path])
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_an_error_while_writing_leaves_nothing_behind(tmp_path, function, error):
    def half_written(target):
        if function is atomic_write:
            target.write(b"half a file")
        else:
            with open(target, "wb") as fh:
                fh.write(b"half a file")
        raise error

    new = tmp_path / "new.bin"
    with pytest.raises(type(error)):
        function(new, half_written)
    assert not new.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file either

    old = tmp_path / "old.bin"
    old.write_bytes(b"good")
    os.chmod(old, 0o600)
    with pytest.raises(type(error)):
        function(old, half_written)
    assert old.read_bytes() == b"good" and _mode(old) == 0o600  # untouched
    assert list(tmp_path.iterdir()) == [old]


def test_permissions_are_0644_by_default(tmp_path):
    old_umask = os.umask(0o077)  # mkstemp's 0600 is not what readers of the cache get
    try:
        atomic_write_bytes(tmp_path / "a", b"a")
        atomic_write_via_path(tmp_path / "b", lambda tmp: open(tmp, "wb").close())
        atomic_write_text(tmp_path / "c", "c", mode=0o600)
    finally:
        os.umask(old_umask)
    assert _mode(tmp_path / "a") == 0o644
    assert _mode(tmp_path / "b") == 0o644
    assert _mode(tmp_path / "c") == 0o600


def test_the_callers_write_atomically(tmp_path):
    """Every writer goes through elfutils.io: their files are 0644 and no temporary file is left."""
    import numpy as np
    import pandas as pd

    from elfutils.analysis.fingerprints import write_table
    from elfutils.images.stack import save_image_stack

    write_table(pd.DataFrame({"material_id": ["a"], "formula": ["X"]}), tmp_path / "t.parquet")
    write_table(pd.DataFrame({"material_id": ["a"], "formula": ["X"]}), tmp_path / "t.csv")
    save_image_stack(tmp_path / "s.npz", np.zeros((1, 8, 8), np.uint8), ["a"], ["X"])
    assert pd.read_csv(tmp_path / "t.csv").to_dict("list") == {"material_id": ["a"], "formula": ["X"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz", "t.csv", "t.parquet"]
    assert {_mode(p) for p in tmp_path.iterdir()} == {0o644}
