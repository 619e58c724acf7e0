"""`elf similar` end to end: real 2Dmatpedia band files -> `elf render` -> a tiny model trained here ->
`elf encode` -> `elf similar` on a copy of one of the files, which must find its twin first.

The model is the paper's ResNet18 autoencoder at 224 px (the size that gives 98-number fingerprints, which the
search requires), trained for one epoch on the 12 fixture images: meaningless as a model, but every step is
the real one. One torch thread keeps it repeatable on a shared 2-core machine (~10-30 s).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from elfutils.cli import main as elf
from elfutils.images.stack import load_image_stack
from elfutils.nn.model import ElfConfig
from elfutils.nn.training import train

TINY = ElfConfig(epochs=1, batch_size=4, validation_fraction=0.0)  # 224 px, 7 x 7 x 2 = 98 numbers


@pytest.fixture(scope="module")
def searchable(tmp_path_factory, fixture_files, one_thread):
    """(folder, model folder, fingerprint table) built from the 12 real band files."""
    work = tmp_path_factory.mktemp("similar-cli")
    stack = work / "stack.npz"
    assert elf(["render", *map(str, fixture_files), "--out", str(stack), "--no-progress"]) == 0
    images, ids, _ = load_image_stack(stack)
    model = work / "model"
    train(images, TINY, model, ids=ids, device="cpu", precision="fp32", progress=False)
    table = work / "fingerprints.parquet"
    assert elf(["encode", "--model", str(model), "--images", str(stack), "--out", str(table), "--quiet",
                "--device", "cpu"]) == 0
    return work, model, table


@pytest.mark.slow
def test_a_copy_of_a_dataset_file_finds_its_twin_first(searchable, fixture_files, capsys):
    work, model, table = searchable
    original = next(p for p in fixture_files if p.stem == "2dm-21")
    query = shutil.copy(original, work / "my-material.json")  # a user's file: no 2Dmatpedia id
    out = work / "similar.csv"
    capsys.readouterr()
    code = elf(["similar", str(query), "--fingerprints", str(table), "--model", str(model), "--k", "4",
                "--device", "cpu", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    result = pd.read_csv(out)
    assert result["query"].unique().tolist() == ["my-material"]
    assert result["rank"].tolist() == [1, 2, 3, 4]
    assert result["material_id"].iloc[0] == "2dm-21" and result["formula"].iloc[0] == "TaI3"
    # the same file through the same renderer and model: the twin sits at distance ~0 (exactly 0 unless the
    # batch size changes the float rounding), far below every other material
    assert result["distance"].iloc[0] <= 1e-3 * result["distance"].iloc[1]
    assert result["distance"].is_monotonic_increasing
    assert {"query_cluster", "query_probability"} <= set(result.columns)
    assert result["query_cluster"].ge(-1).all()
    assert "2dm-21" in printed.out and "my-material" in printed.out  # the table is printed too


@pytest.mark.slow
def test_a_dataset_file_under_its_own_name_finds_itself_marked(searchable, fixture_files, capsys):
    """A user's file is not a dataset member: the dataset's material with its id is shown, first (the same
    band structure), marked "same id"; --exclude-same-id leaves it out."""
    work, model, table = searchable
    original = next(p for p in fixture_files if p.stem == "2dm-21")
    out = work / "self.csv"
    common = ["--fingerprints", str(table), "--model", str(model), "--k", "3", "--device", "cpu",
              "--no-cluster"]
    assert elf(["similar", str(original), *common, "--out", str(out)]) == 0
    result = pd.read_csv(out)
    assert result["material_id"].iloc[0] == "2dm-21" and bool(result["same_id"].iloc[0])
    assert not result["same_id"].iloc[1:].any() and len(result) == 3
    assert "same id" in capsys.readouterr().out
    assert elf(["similar", str(original), *common, "--exclude-same-id", "--out", str(out)]) == 0
    result = pd.read_csv(out)
    assert "2dm-21" not in set(result["material_id"]) and len(result) == 3
    assert "query_cluster" not in result.columns


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.json", "{not json", "not valid JSON"),
        ("empty.json", '{"efermi": 0.0}', "field 'bands': missing"),
        ("bands.txt", "1 2 3", "unknown file type"),
        ("missing.json", None, "no such file"),
    ],
)
def test_a_bad_query_file_is_a_clear_error(searchable, capsys, name, content, message):
    work, model, table = searchable
    query = work / name
    if content is not None:
        query.write_text(content)
    capsys.readouterr()
    code = elf(["similar", str(query), "--fingerprints", str(table), "--model", str(model),
                "--device", "cpu"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("elf similar: ") and message in err and name in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_bad_model_or_table_is_a_clear_error(searchable, fixture_files, capsys):
    work, model, table = searchable
    junk = work / "junk.safetensors"
    junk.write_bytes(b"not a model")
    capsys.readouterr()
    assert elf(["similar", str(fixture_files[0]), "--fingerprints", str(table), "--model", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("elf similar: ") and "junk.safetensors" in err
    assert elf(["similar", str(fixture_files[0]), "--fingerprints", str(work / "none.parquet"),
                "--model", str(model)]) == 2
    assert "fingerprint table not found" in capsys.readouterr().err


@pytest.mark.slow
def test_without_a_table_the_search_runs_over_the_profiles_dataset(searchable, fixture_files, capsys,
                                                                     monkeypatch):
    """`elf similar FILE` alone: the dataset's fingerprints and model come from the pipeline (stubbed with the
    ones built here), never from a new training run."""
    from elfutils.analysis.fingerprints import read_fingerprints
    from elfutils.book import pipeline, stages

    work, model, table = searchable
    asked = []
    monkeypatch.setattr(pipeline, "trained_model_file", lambda profile: (asked.append(profile) or model,
                                                                         "stub"))
    for module in (pipeline, stages.fingerprints):  # the search, its clusterer and its calibration
        monkeypatch.setattr(module, "fingerprints", lambda profile: read_fingerprints(table))
    query = shutil.copy(next(p for p in fixture_files if p.stem == "2dm-21"), work / "mine.json")
    capsys.readouterr()
    assert elf(["similar", str(query), "--k", "2", "--device", "cpu", "--profile", "smoke"]) == 0
    assert asked == ["smoke"]
    assert "2dm-21" in capsys.readouterr().out.splitlines()[1]  # the twin is the first row under the header


def test_without_a_trained_model_the_default_search_says_how_to_get_one(fixture_files, capsys, monkeypatch,
                                                                          tmp_path):
    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path))  # an empty cache: nothing trained
    from elfutils.book import pipeline

    monkeypatch.setattr(pipeline.COMMITTED_MODEL, "status",
                        lambda profile: (None, "no usable committed model"))
    assert elf(["similar", str(fixture_files[0]), "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("elf similar: no trained model for profile 'smoke'") and "make models" in err
    assert elf(["similar", str(fixture_files[0]), "--model", str(tmp_path / "m")]) == 2
    assert "--model needs --fingerprints" in capsys.readouterr().err


@pytest.mark.slow
def test_encode_from_a_store_in_chunks_matches_the_image_stack(searchable, fixture_files, tmp_path):
    """`elf encode --store`, 5 materials at a time, gives the fingerprints of `elf render` of the same store
    followed by `elf encode --images` (same records, renderer and model)."""
    _, model, _ = searchable
    store = tmp_path / "files.elfstore"
    assert elf(["import", *map(str, fixture_files), "--store", str(store)]) == 0
    stack, whole = tmp_path / "stack.npz", tmp_path / "whole.parquet"
    assert elf(["render", str(store), "--out", str(stack), "--no-progress"]) == 0
    assert elf(["encode", "--model", str(model), "--images", str(stack), "--out", str(whole), "--quiet",
                "--device", "cpu"]) == 0
    streamed = tmp_path / "streamed.parquet"
    assert elf(["encode", "--model", str(model), "--store", str(store), "--chunk", "5", "--out",
                str(streamed), "--quiet", "--device", "cpu"]) == 0
    ours = pd.read_parquet(streamed).set_index("material_id").sort_index()
    reference = pd.read_parquet(whole).set_index("material_id").sort_index()
    assert list(ours.index) == list(reference.index) and len(ours) == 12
    assert (ours["formula"] == reference["formula"]).all()
    features = [c for c in reference.columns if c.startswith("f") and c[1:].isdigit()]
    diff = (ours[features] - reference[features]).abs().to_numpy().max()
    assert diff <= 1e-4 * reference[features].abs().to_numpy().max()


@pytest.mark.slow
def test_similar_on_the_graph_path_caches_its_index(searchable, fixture_files, capsys):
    work, model, table = searchable
    original = next(p for p in fixture_files if p.stem == "2dm-21")
    out = work / "graph.csv"
    common = ["--fingerprints", str(table), "--model", str(model), "--k", "3", "--device", "cpu",
              "--scale", "graph", "--out", str(out)]
    capsys.readouterr()
    assert elf(["similar", str(original), *common]) == 0
    assert "search index: built" in capsys.readouterr().out
    first = pd.read_csv(out)
    assert first["material_id"].iloc[0] == "2dm-21" and len(first) == 3
    assert elf(["similar", str(original), *common]) == 0
    assert "search index: loaded" in capsys.readouterr().out
    assert pd.read_csv(out)["material_id"].tolist() == first["material_id"].tolist()


def test_a_tables_fitted_clusterer_is_cached_and_gives_the_same_clusters(tmp_path, monkeypatch):
    """`elf similar` keeps the HDBSCAN model fitted on a table in the cache (plain arrays, no pickle): the
    second search reads it and joins a query to the same cluster with the same probability as a fit from
    scratch; another table is not mistaken for it; a damaged file is fitted again."""
    import numpy as np

    from elfutils.analysis.cluster import FingerprintHDBSCAN
    from elfutils.analysis.fingerprints import make_table
    from elfutils.commands.similar import _fitted_clusterer

    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 98)) * 5
    X = np.vstack([c + rng.normal(size=(20, 98)) * 0.3 for c in centres])
    table = make_table([f"m{i}" for i in range(len(X))], ["X"] * len(X), X)
    fresh = FingerprintHDBSCAN().fit(table)
    first, status = _fitted_clusterer(table)
    assert status.startswith("fitted and cached")
    again, status = _fitted_clusterer(table)
    assert status == "read from the cache"
    query = np.vstack([X[:2] + 0.01, rng.normal(size=(1, 98)) * 20])
    for fitted in (first, again):
        np.testing.assert_array_equal(fitted.labels_, fresh.labels_)
        for got, want in zip(fitted.predict(query), fresh.predict(query), strict=True):
            np.testing.assert_array_equal(got, want)
    other = make_table(table.material_id, table.formula, X[::-1])
    assert _fitted_clusterer(other)[1].startswith("fitted and cached")
    for cached in (tmp_path / "search-clusterers").glob("*.npz"):
        cached.write_bytes(b"not numpy")
    damaged, status = _fitted_clusterer(table)
    assert status.startswith("fitted and cached")
    np.testing.assert_array_equal(damaged.labels_, fresh.labels_)


def test_a_profiles_search_reads_its_fitted_clusterer_from_the_stage(monkeypatch):
    from elfutils.book.stages import search_clusterer
    from elfutils.commands.similar import _fitted_clusterer

    monkeypatch.setattr(search_clusterer, "clusterer", lambda profile: f"fitted on {profile}")
    assert _fitted_clusterer(None, "atlas")[0] == "fitted on atlas"


def test_a_profiles_search_reads_its_calibration_from_the_stage(monkeypatch, tmp_path):
    """A profile's own table: the committed stage; any other table: worked out once, then read."""
    from elfutils.analysis import similar as analysis
    from elfutils.analysis.fingerprints import synthetic_fingerprints
    from elfutils.book.stages import search_calibration
    from elfutils.commands.similar import _calibration

    monkeypatch.setattr(search_calibration, "calibration", lambda profile: f"stage of {profile}")
    assert _calibration(None, None, "atlas") == "stage of atlas"
    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path))
    table, _ = synthetic_fingerprints(2, 8, seed=1)
    first = _calibration(table, None)
    monkeypatch.setattr(analysis, "calibrate", lambda *a, **k: pytest.fail("worked out again"))
    again = _calibration(table, None)
    np.testing.assert_array_equal(first.reference, again.reference)
    np.testing.assert_array_equal(first.own_nearest, again.own_nearest)


def test_a_query_searched_before_is_read_not_encoded_again(searchable, fixture_files, capsys, tmp_path,
                                                          monkeypatch):
    """The query's fingerprint is kept under its file's bytes and the model's: the same search again reads
    it (same result), a changed file is encoded anew."""
    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path / "cache"))
    _, model, table = searchable
    query = shutil.copy(next(p for p in fixture_files if p.stem == "2dm-21"), tmp_path / "mine.json")

    def search(out):
        capsys.readouterr()
        assert elf(["similar", str(query), "--fingerprints", str(table), "--model",
                    str(model / "best.safetensors"), "--k", "3", "--device", "cpu", "--out", str(out)]) == 0
        return pd.read_csv(out), capsys.readouterr().out

    first, printed = search(tmp_path / "first.csv")
    kept = "query fingerprints: read from the cache"
    assert kept not in printed
    again, printed = search(tmp_path / "again.csv")
    assert kept in printed
    pd.testing.assert_frame_equal(first, again)
    other = next(p for p in fixture_files if p.stem == "2dm-1")
    shutil.copy(other, query)  # same path, other bytes: encoded again, another material found
    changed, printed = search(tmp_path / "changed.csv")
    assert kept not in printed
    assert changed["material_id"].iloc[0] == "2dm-1"


@pytest.mark.slow
def test_a_repeated_search_of_the_dataset_never_imports_torch(tmp_path, fixture_files):
    """`elf similar FILE` a second time (the default profile, committed model and results) reads the
    query's fingerprint, the model's card and identity and the table from the cache: no torch import, which
    is about 2 s of the search on a 2-core CPU (benchmarks/bench_similar.py times it)."""
    import os
    import subprocess
    import sys

    query = str(next(p for p in fixture_files if p.stem == "2dm-21"))
    script = ("import sys; from elfutils.cli import main; code = main(['similar', sys.argv[1]]); "
              "print('torch imported:', 'torch' in sys.modules); sys.exit(code)")
    env = {**os.environ, "ELF_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", script, query], capture_output=True, text=True, env=env,
                           timeout=600) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    assert "torch imported: True" in runs[0].stdout  # the first search encodes the query
    assert "torch imported: False" in runs[1].stdout
    assert "query fingerprints: read from the cache" in runs[1].stdout


def test_kept_queries_of_one_material_twice_or_damaged_are_searched_again(searchable, fixture_files, capsys,
                                                                        tmp_path, monkeypatch):
    """Two files of one material (one id) are kept and read back as they were written; a damaged kept file
    is encoded again, never an error."""
    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path / "cache"))
    _, model, table = searchable
    original = next(p for p in fixture_files if p.stem == "2dm-21")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    queries = [str(shutil.copy(original, tmp_path / d / "2dm-21.json")) for d in "ab"]

    def search():
        capsys.readouterr()
        assert elf(["similar", *queries, "--fingerprints", str(table), "--model",
                    str(model / "best.safetensors"), "--k", "2", "--device", "cpu"]) == 0
        return capsys.readouterr().out

    assert "query fingerprints: read from the cache" not in search()
    assert "query fingerprints: read from the cache" in search()
    [kept] = (tmp_path / "cache" / "query-fingerprints").glob("*.parquet")
    kept.write_bytes(b"not a parquet file")
    assert "query fingerprints: read from the cache" not in search()


def test_only_regular_query_files_are_hashed_for_the_cache(tmp_path, searchable):
    """A device, a folder or a figure is not kept (and /dev/zero is never read to its end)."""
    import argparse

    from elfutils.commands.similar import _kept_queries_path

    _, model, _ = searchable
    png = tmp_path / "fig.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)

    def args(*queries):
        return argparse.Namespace(queries=list(queries), model=model / "best.safetensors", figure=None,
                                  keep_file_zero=False, device=None)

    for query in ("/dev/zero", str(tmp_path), str(png)):
        assert _kept_queries_path(args(query)) is None, query
