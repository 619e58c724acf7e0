"""The saved search index (``*.elfindex.npz``) is checked array by array before a compiled kernel sees it
(issue #34, item 1): a damaged index whose header still matches its table is rebuilt with a note naming the
file, never a crash (an offset out of range made `elf similar` segfault) nor silently wrong neighbours."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elfutils.analysis.neighbors import SimilarityIndex, cached_index, exact_knn, index_path
from elfutils.constants import FINGERPRINT_LENGTH, MINKOWSKI_P

N, K = 300, 5
ARRAYS = ("centres", "order", "offsets")
CORRUPTIONS = ("set", "truncate", "extend", "swap", "widen", "narrow", "as_float", "add_axis")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """(table path, fingerprints, queries, the saved index's arrays, the fresh index's answers)."""
    rng = np.random.default_rng(34)
    X = rng.random((N, 8)).astype(np.float32)
    path = tmp_path_factory.mktemp("index") / "table.parquet"
    index = SimilarityIndex.build(X)
    index.save(index_path(path))
    with np.load(index_path(path)) as f:
        saved = {key: f[key] for key in f.files}
    queries = X[:20] + rng.normal(0, 0.02, (20, 8)).astype(np.float32)
    return path, X, queries, saved, index.query(queries, K)


def _corrupt(a: np.ndarray, how: str, data) -> np.ndarray:
    """One damage of one array, drawn by hypothesis."""
    a = a.copy()
    if how == "set":
        flat = a.reshape(-1)
        i = data.draw(st.integers(0, flat.size - 1))
        if a.dtype.kind == "f":
            flat[i] = data.draw(st.floats(width=32))  # NaN, inf and every finite float32
        else:
            flat[i] = data.draw(st.integers(-(2**40), 2**40))
        return a
    if how == "truncate":
        return a[: -data.draw(st.integers(1, len(a)))]
    if how == "extend":
        return np.concatenate([a, a[: data.draw(st.integers(1, 3))]])
    if how == "swap":
        i, j = data.draw(st.integers(0, len(a) - 1)), data.draw(st.integers(0, len(a) - 1))
        a[[i, j]] = a[[j, i]]
        return a
    if how == "widen":
        return np.concatenate([a.reshape(len(a), -1), a.reshape(len(a), -1)[:, :1]], axis=1)
    if how == "narrow":
        return a.reshape(len(a), -1)[:, :-1]
    if how == "as_float":
        return a.astype(np.float64) if a.dtype.kind != "f" else a.astype(np.int64)
    return a[None]  # add_axis


def _valid_answers(X, queries, indices, distances) -> None:
    """Whatever index answered: distinct rows in range, their exact distances, nearest first."""
    for q, rows, dist in zip(queries, indices, distances, strict=True):
        found = rows[rows >= 0]
        assert len(set(found.tolist())) == len(found) and found.max() < len(X)
        exact = np.sum(np.abs(X[found].astype(np.float64) - q) ** MINKOWSKI_P, axis=1) ** (1 / MINKOWSKI_P)
        np.testing.assert_allclose(dist[: len(found)], exact, rtol=1e-4)
        assert (np.diff(dist[: len(found)]) >= 0).all()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(ARRAYS), how=st.sampled_from(CORRUPTIONS))
def test_a_damaged_index_under_a_matching_header_is_rebuilt_or_harmless(table, data, name, how):
    path, X, queries, saved, (fresh_indices, fresh_distances) = table
    arrays = {**saved, name: _corrupt(saved[name], how, data)}
    np.savez(index_path(path), **arrays)  # the header still matches the table
    index, status = cached_index(path, X)
    indices, distances = index.query(queries, K)
    if status.startswith("rebuilt"):
        assert str(index_path(path)) in status  # the note names the file
        np.testing.assert_array_equal(indices, fresh_indices)
        np.testing.assert_array_equal(distances, fresh_distances)
        return
    assert status == "loaded"  # only what passes every check: the seeded centres, a permutation, offsets
    np.testing.assert_array_equal(index.centres, saved["centres"])
    np.testing.assert_array_equal(np.sort(index.order), np.arange(N))
    assert index.offsets[0] == 0 and index.offsets[-1] == N and (np.diff(index.offsets) >= 0).all()
    _valid_answers(X, queries, indices, distances)  # a row swapped between cells costs recall, nothing else


HEADER_VALUES = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=5)
                 | st.lists(st.integers(), max_size=2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(["format", "kind", "p", "seed", "n", "dim", "n_cells", "fingerprints_sha256"]),
       value=HEADER_VALUES, whole=st.booleans())
def test_a_damaged_header_is_rebuilt_or_harmless(table, key, value, whole):
    """The header itself edited: one entry, or the whole header replaced by the value."""
    path, X, queries, saved, (fresh_indices, _) = table
    header = value if whole else {**json.loads(str(saved["header"])), key: value}
    np.savez(index_path(path), **{**saved, "header": np.array(json.dumps(header))})
    index, status = cached_index(path, X)
    assert status == "loaded" or status.startswith(f"rebuilt ({index_path(path)}: ")
    np.testing.assert_array_equal(index.query(queries, K)[0], fresh_indices)


@pytest.mark.parametrize(("name", "damage", "problem"), [
    ("offsets", lambda a: np.where(np.arange(len(a)) == 1, 10**9, a), "offsets do not rise"),
    ("centres", lambda a: a[:, :-1], "centres are float32"),
    ("centres", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 3, np.nan, a), "NaN"),
    ("order", lambda a: np.where(np.arange(len(a)) == 1, a[0], a), "not a permutation"),
])
def test_each_reported_damage_names_the_file_and_the_array(table, name, damage, problem):
    path, X, queries, saved, fresh = table
    np.savez(index_path(path), **{**saved, name: damage(saved[name])})
    index, status = cached_index(path, X)
    assert status.startswith(f"rebuilt ({index_path(path)}: ") and problem in status
    np.testing.assert_array_equal(index.query(queries, K)[0], fresh[0])
    assert cached_index(path, X)[1] == "loaded"  # and the rebuilt index was saved in its place


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(0.0, 0.999))
def test_a_truncated_index_is_rebuilt(table, cut):
    path, X, queries, saved, fresh = table
    np.savez(index_path(path), **saved)
    raw = index_path(path).read_bytes()
    index_path(path).write_bytes(raw[: int(cut * len(raw))])
    index, status = cached_index(path, X)
    assert status.startswith(f"rebuilt ({index_path(path)}: ")
    np.testing.assert_array_equal(index.query(queries, K)[0], fresh[0])


def test_queries_of_another_width_are_refused_before_the_kernel():
    X = np.zeros((10, 4), np.float32)
    with pytest.raises(ValueError, match="queries of shape"):
        exact_knn(X, 1, queries=np.zeros((2, 9), np.float32))


def test_elf_similar_rebuilds_an_index_whose_offsets_point_past_the_table(tmp_path):
    """The reported crash: `elf similar` on the graph path read past its arrays (rc 139)."""
    rng = np.random.default_rng(7)
    X = rng.random((200, FINGERPRINT_LENGTH))
    columns = {f"f{i}": X[:, i] for i in range(FINGERPRINT_LENGTH)}
    table = pd.DataFrame({"material_id": [f"m-{i}" for i in range(len(X))], "formula": "X", **columns})
    table_path, queries_path = tmp_path / "table.csv", tmp_path / "queries.csv"
    table.to_csv(table_path, index=False)
    table.iloc[:3].to_csv(queries_path, index=False)
    SimilarityIndex.build(X).save(index_path(table_path))
    with np.load(index_path(table_path)) as f:
        arrays = {key: f[key] for key in f.files}
    assert json.loads(str(arrays["header"]))["n"] == len(X)
    arrays["offsets"][1:-1] += 10**9  # first and last as they were; the cells between far past the table
    np.savez(index_path(table_path), **arrays)
    command = [sys.executable, "-m", "elfutils.cli", "similar", str(queries_path), "--fingerprints",
               str(table_path), "--scale", "graph", "--no-cluster", "--k", "3"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"search index: rebuilt ({index_path(table_path)}: offsets" in run.stdout
    for mid in ("m-0", "m-1", "m-2"):  # each query's own row is its nearest
        assert mid in run.stdout
