"""The README and the commands as a newcomer meets them (issue #32 item 8): scripts that answer --help without
working, readable `elf similar` output, one exit code for bad input, help texts with their defaults, the
commands the README promises (export-fingerprints, export-model, similar --clusters) and the small things a
first run trips over (an empty skipped list, the ASE id and formula, the QE warning's source line, the
featurizer's column names, the SLURM example's dependency)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from elfutils.cli import build_parser
from elfutils.cli import main as elf

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "data" / "reader-fixtures"
NOT_A_SCRIPT = {"scripts/gpaw-siteconfig.py": "GPAW's build configuration, read by its setup.py"}
# scripts of another piece of work whose --help still does the work (strict: the test says when it is fixed)
NOT_YET: dict[str, str] = {}


def tracked_scripts() -> list:
    listed = subprocess.run(["git", "ls-files", "scripts/*.py", "benchmarks/*.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[s])) if s in NOT_YET else s
            for s in listed if s not in NOT_A_SCRIPT]


def committed_outputs() -> dict[str, tuple[int, int]]:
    """(mtime, size) of every tracked file a script could rewrite: results, data, committed models (the
    stage results under models/book-results are left out: a refresh may be running beside the tests)."""
    listed = subprocess.run(["git", "ls-files", "benchmarks/results", "data", "models"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    out = {}
    for name in listed:
        path = ROOT / name
        if not name.startswith("models/book-results/") and path.is_file():
            out[name] = (path.stat().st_mtime_ns, path.stat().st_size)
    return out


# --- 1. scripts ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("script", tracked_scripts())
def test_every_script_answers_help_and_rewrites_nothing(script, tmp_path):
    """`python SCRIPT --help` prints its usage and exits 0, at once: before, measure_energy_zero.py ran its
    3-minute measurement and rewrote benchmarks/results/energy-zero-twins.json, write_dataset_card.py wrote a
    card named "--help", make_tc_setup.py and make_reader_fixtures.py started GPAW."""
    before = committed_outputs()
    env = {**os.environ, "ELF_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, str(ROOT / script), "--help"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("usage:"), out.stdout[:500]
    assert committed_outputs() == before
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["cache"])  # nothing written where it ran


@pytest.mark.parametrize("script", ["scripts/make_tc_setup.py", "scripts/make_reader_fixtures.py",
                                    "scripts/commit_cnnf.py", "scripts/commit_models.py",
                                    "scripts/commit_book_results.py"])
def test_scripts_that_rewrite_committed_files_need_a_flag(script, tmp_path):
    before = committed_outputs()
    out = subprocess.run([sys.executable, str(ROOT / script)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=180, env={**os.environ, "ELF_CACHE_DIR": str(tmp_path / "cache")})
    assert out.returncode == 2 and out.stdout.startswith("usage:"), (out.stdout[:300], out.stderr[-500:])
    assert committed_outputs() == before


def test_the_makefile_passes_the_flags_the_scripts_need():
    recipes = (ROOT / "Makefile").read_text()
    for call in ("scripts/write_dataset_card.py --write", "scripts/commit_models.py --refresh",
                 "scripts/commit_cnnf.py --refresh", "scripts/make_tc_setup.py --write"):
        assert call in recipes, call


# --- 7. help texts -----------------------------------------------------------------------------------------
def subcommands() -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_with_a_default_shows_it():
    hidden = [f"elf {name} {a.option_strings[0]}" for name, parser in subcommands().items()
              for a in parser._actions
              if a.option_strings and a.default not in (None, False, argparse.SUPPRESS)
              and a.help is not argparse.SUPPRESS and "default" not in (a.help or "")]
    assert not hidden, f"options whose help does not give their default: {hidden}"


def test_train_help_gives_elfconfigs_defaults_and_the_export(capsys):
    from elfutils.nn.model import ElfConfig

    with pytest.raises(SystemExit):
        elf(["train", "--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    config = ElfConfig()
    assert f"(default: {config.batch_size}, ElfConfig's)" in text
    assert f"(default: {config.learning_rate}, ElfConfig's)" in text
    assert "340 MB" in text and "elf export-model" in text


def test_dft_has_a_description_and_elf_a_version(capsys):
    from importlib.metadata import version

    import elfutils

    assert subcommands()["dft"].description and "--time-limit" in subcommands()["dft"].description
    with pytest.raises(SystemExit) as stop:
        elf(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"elf {elfutils.__version__}" == f"elf {version('elfutils')}"


def test_the_makefile_lists_every_book_profile():
    from elfutils.book.profiles import PROFILES

    [listed] = re.findall(r"PROFILE=([a-z0-9|]+)\)", (ROOT / "Makefile").read_text())
    assert listed.split("|") == list(PROFILES)


# --- 3. export-fingerprints, 2. load_fingerprints -----------------------------------------------------------
@pytest.fixture
def profile_table(tmp_path, monkeypatch):
    """The book pipeline stubbed with a synthetic table and a model file name (nothing trained or encoded)."""
    from elfutils.analysis.fingerprints import synthetic_fingerprints
    from elfutils.book import pipeline

    table, _ = synthetic_fingerprints()
    model = tmp_path / "model.safetensors"
    monkeypatch.setattr(pipeline, "trained_model_file", lambda profile: (model, "stub"))
    monkeypatch.setattr(pipeline, "fingerprints", lambda profile: table.copy())
    return table, model


def test_export_fingerprints_writes_a_profiles_table_in_one_command(profile_table, tmp_path, capsys):
    from elfutils.analysis.fingerprints import read_fingerprints

    table, model = profile_table
    out = tmp_path / "atlas.parquet"
    assert elf(["export-fingerprints", "--profile", "atlas", "--out", str(out)]) == 0
    written = pd.read_parquet(out)
    assert list(written.columns[:3]) == ["material_id", "formula", "f0"]
    assert written.shape == (len(table), 100)
    pd.testing.assert_frame_equal(read_fingerprints(out), table)
    assert str(model) in capsys.readouterr().out
    assert elf(["export-fingerprints", "--profile", "nowhere", "--out", str(out)]) == 2
    assert "unknown profile 'nowhere'" in capsys.readouterr().err


def test_load_fingerprints_is_public_and_names_its_model(profile_table):
    import elfutils

    table, model = profile_table
    loaded = elfutils.load_fingerprints("default")
    assert "load_fingerprints" in elfutils.__all__
    pd.testing.assert_frame_equal(loaded, table)
    assert loaded.attrs["model"] == str(model) and loaded.attrs["profile"] == "default"


def test_the_readme_documents_the_atlas_export():
    readme = (ROOT / "README.md").read_text()
    assert "elf export-fingerprints --profile atlas --out atlas.parquet" in readme


# --- 4, 5. `elf similar`: cluster labels, readable output ---------------------------------------------------
@pytest.fixture
def clustered(tmp_path):
    """(fingerprint table, its `elf cluster` table, a query table of two of its rows), as files."""
    from elfutils.analysis.fingerprints import synthetic_fingerprints, write_fingerprints

    table, _ = synthetic_fingerprints()
    fingerprints = write_fingerprints(table, tmp_path / "fingerprints.parquet")
    clusters = tmp_path / "clusters.parquet"
    assert elf(["cluster", str(fingerprints), "--out", str(clusters)]) == 0
    queries = write_fingerprints(table.iloc[[0, 20]].assign(material_id=["q0", "q1"]),
                                 tmp_path / "queries.parquet")
    return fingerprints, clusters, queries


def test_similar_on_the_graph_path_shows_the_clusters_of_elf_cluster(clustered, tmp_path, capsys):
    """The graph path's note promised an hdbscan_label column that no command wrote: `--clusters` takes the
    table of `elf cluster` and shows each neighbour's label."""
    fingerprints, clusters, queries = clustered
    out = tmp_path / "similar.csv"
    assert elf(["similar", str(queries), "--fingerprints", str(fingerprints), "--clusters", str(clusters),
                "--scale", "graph", "--k", "3", "--out", str(out)]) == 0
    result = pd.read_csv(out)
    labels = pd.read_parquet(clusters).set_index("material_id")["hdbscan_label"]
    assert result["hdbscan_label"].tolist() == labels[result["material_id"]].tolist()
    assert "hdbscan_label" in capsys.readouterr().out
    other = tmp_path / "other.parquet"
    pd.read_parquet(clusters).iloc[5:].to_parquet(other)
    assert elf(["similar", str(queries), "--fingerprints", str(fingerprints), "--clusters", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("elf similar: ") and "5 of the 70 materials" in err and err.count("\n") == 1


def test_similar_prints_what_a_person_can_read(clustered, tmp_path, capsys):
    fingerprints, _, queries = clustered
    out = tmp_path / "similar.csv"
    assert elf(["similar", str(queries), "--fingerprints", str(fingerprints), "--k", "2",
                "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    header = printed.splitlines()[0].split()
    assert "distance" not in header and "closer_pairs_percent" in header and "query_cluster" in header
    assert "-1: none" in printed and "query_probability: how firmly" in printed
    assert "A good match: a dataset material's own nearest neighbour scores" in printed
    assert "--raw-distance" in printed
    assert "distance" in pd.read_csv(out).columns  # the CSV keeps it
    assert elf(["similar", str(queries), "--fingerprints", str(fingerprints), "--k", "2",
                "--raw-distance"]) == 0
    assert "distance" in capsys.readouterr().out.splitlines()[0].split()


def test_similar_help_explains_the_columns(capsys):
    with pytest.raises(SystemExit):
        elf(["similar", "--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert "-1 when it would stay unclassified" in text and "query_probability how firmly" in text
    assert "50 is a typical pair of unrelated materials" in text and "--raw-distance" in text


def test_the_good_match_yardstick_is_the_tables_own_nearest_neighbours():
    from elfutils.analysis.fingerprints import fingerprint_matrix, synthetic_fingerprints
    from elfutils.analysis.neighbors import SimilarityIndex
    from elfutils.analysis.similar import nearest_neighbour_percent

    table, _ = synthetic_fingerprints(n_noise=0)
    X = fingerprint_matrix(table)
    own = nearest_neighbour_percent(X)
    assert len(own) == len(X) and (own < 25).all()  # planted groups: a member's neighbour is in its group
    through_index = nearest_neighbour_percent(X, index=SimilarityIndex.build(X))  # float32 distances
    assert np.abs(through_index - own).max() < 0.5


def test_two_queries_of_one_material_are_told_apart():
    from elfutils.analysis.fingerprints import fingerprint_matrix, synthetic_fingerprints
    from elfutils.analysis.similar import find_similar

    table, _ = synthetic_fingerprints()
    Q = fingerprint_matrix(table)[:2]
    result = find_similar(Q, table, k=2, query_ids=["MoS2", "MoS2"],
                          query_files=["a/MoS2/vasprun.xml", "b/MoS2/vasprun.xml"])
    assert list(result.columns[:2]) == ["query", "query_file"]
    assert result["query_file"].tolist() == ["a/MoS2/vasprun.xml"] * 2 + ["b/MoS2/vasprun.xml"] * 2


# --- 6. the training folder and the float16 export ----------------------------------------------------------
def test_export_model_writes_the_lean_float16_file(tmp_path, capsys):
    import torch

    from elfutils.nn.checkpoint import load_model, read_card, save_model
    from elfutils.nn.model import ElfAutoencoder, ElfConfig

    torch.manual_seed(0)
    run = tmp_path / "run"
    run.mkdir()
    net = ElfAutoencoder(ElfConfig(image_size=64, epochs=1))
    save_model(run / "best.safetensors", net, {"epoch": 1, "history": []})
    out = tmp_path / "model.safetensors"
    assert elf(["export-model", str(run), "--out", str(out)]) == 0
    assert "float16" in capsys.readouterr().out
    assert out.stat().st_size < 0.55 * (run / "best.safetensors").stat().st_size
    assert read_card(out)["weights_dtype"] == "float16" and out.with_suffix(".json").is_file()
    model, _, _ = load_model(out)
    for name, tensor in net.state_dict().items():
        if tensor.is_floating_point():
            assert torch.allclose(model.state_dict()[name], tensor, rtol=1e-3, atol=1e-3), name
    assert elf(["export-model", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("elf export-model: ")


def test_train_says_what_its_folder_weighs_and_how_to_make_the_lean_file(tmp_path, fixture_files, capsys):
    stack, run = tmp_path / "stack.npz", tmp_path / "run"
    assert elf(["render", *map(str, fixture_files[:4]), "--size", "32", "--out", str(stack),
                "--no-progress"]) == 0
    assert elf(["train", "--images", str(stack), "--out", str(run), "--epochs", "1", "--batch-size", "4",
                "--device", "cpu", "--precision", "fp32", "--quiet"]) == 0
    printed = capsys.readouterr().out
    size = sum(f.stat().st_size for f in run.glob("*.safetensors"))
    assert f"{run} holds {size / 1e6:.0f} MB" in printed and f"elf export-model {run} --out" in printed
    assert elf(["export-model", str(run), "--out", str(tmp_path / "lean.safetensors")]) == 0
    assert (tmp_path / "lean.safetensors").stat().st_size < (run / "best.safetensors").stat().st_size


# --- 8. image stacks ----------------------------------------------------------------------------------------
def test_the_readme_describes_the_packed_stack_and_its_loader(tmp_path):
    from elfutils.images.stack import load_image_stack, save_image_stack

    readme = re.sub(r"\s+", " ", (ROOT / "README.md").read_text())
    assert "uint8 (N, 224, 28), 224 × 28 bytes an image" in readme
    assert "elfutils.images.stack.load_image_stack(\"stack.npz\")" in readme
    images = (np.random.default_rng(0).random((2, 224, 224)) < 0.1).astype(np.uint8)
    save_image_stack(tmp_path / "stack.npz", images, ["a", "b"], ["X", "Y"])
    assert np.load(tmp_path / "stack.npz")["images"].shape == (2, 224, 28)
    assert np.array_equal(load_image_stack(tmp_path / "stack.npz")[0], images)


# --- 9. small ones ------------------------------------------------------------------------------------------
def test_render_writes_no_empty_skipped_list_and_removes_a_stale_one(tmp_path, fixture_files):
    out = tmp_path / "stack.npz"
    stale = tmp_path / "stack.skipped.csv"
    stale.write_text("item,reason\nold.json,from an earlier run\n")
    assert elf(["render", str(fixture_files[0]), "--out", str(out), "--no-progress"]) == 0
    assert out.is_file() and not stale.exists()
    assert elf(["render", str(fixture_files[0]), str(tmp_path / "gone.json"), "--out", str(out),
                "--no-progress"]) == 0
    assert "gone.json" in stale.read_text()


def test_the_ase_files_id_drops_its_qualifier_and_info_says_it_has_no_atoms(capsys):
    pytest.importorskip("ase")
    from elfutils.data.readers import material_id_of, read_band_file

    path = FIXTURES / "2dm-4991.ase-bands.json"
    record = read_band_file(path)
    assert material_id_of(path) == record.material_id == "2dm-4991"
    assert record.formula == ""  # an ASE band structure carries no atoms
    assert elf(["info", str(path)]) == 0
    assert re.match(r"\s*2dm-4991 \(no atoms\) ", capsys.readouterr().out)


def test_bad_input_is_exit_code_2_and_names_the_path_once(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"bands": {"1": [[0.0, 1.0]]}, "efermi": "x", "kpoints": [], "labels_dict": {}, '
                   '"lattice_rec": {}}')
    assert elf(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count(str(bad)) == 1 and "field 'efermi'" in err
    assert elf(["render", str(bad), "--out", str(tmp_path / "s.npz"), "--no-progress"]) == 2
    assert capsys.readouterr().err.count(f"{bad}:") == 1
    assert elf(["import", str(bad), "--store", str(tmp_path / "s.elfstore"), "--no-progress"]) == 2
    table = tmp_path / "t.csv"
    table.write_text("material_id,formula\nx,Y\n")
    assert elf(["similar", str(bad), "--fingerprints", str(table), "--model", str(tmp_path / "m")]) == 2
    assert elf(["cluster", str(table), "--out", str(tmp_path / "c.csv")]) == 2


def test_the_qe_warning_is_one_line_without_a_source_line():
    out = subprocess.run([sys.executable, "-m", "elfutils.cli", "info",
                          str(FIXTURES / "qe" / "2dm-4991.data-file-schema.xml")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith("elf info: warning: ") and out.stderr.count("\n") == 1, out.stderr
    assert ".py:" not in out.stderr and "warnings.warn" not in out.stderr


def test_the_featurizers_columns_are_the_tables():
    from elfutils.analysis.featurizer import ElfFingerprint
    from elfutils.analysis.fingerprints import FEATURE_COLUMNS

    assert ElfFingerprint(device="cpu").feature_labels() == list(FEATURE_COLUMNS)


def test_the_slurm_examples_dependency_is_in_the_dft_extra():
    readme = (ROOT / "README.md").read_text()
    assert "from dask_jobqueue import SLURMCluster" in readme
    dft = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dft"]
    assert any(re.match(r"dask-jobqueue\b", dep) for dep in dft), dft


def test_two_files_of_one_material_are_told_apart_in_the_similar_output(tmp_path, fixture_files, capsys):
    """Two files of one material (one name in two folders: one id) used to print two identical ``query``
    columns; ``query_file`` keeps each path as given. An untrained 224-px model is enough to encode."""
    from elfutils.analysis.fingerprints import write_fingerprints
    from elfutils.analysis.similar import encode_band_files
    from elfutils.data.readers import material_id_of
    from elfutils.nn.checkpoint import save_model
    from elfutils.nn.model import ElfAutoencoder, ElfConfig

    model = save_model(tmp_path / "m.safetensors", ElfAutoencoder(ElfConfig(image_size=224, epochs=1)),
                       {"epoch": 0, "history": []})
    dataset = encode_band_files(fixture_files[:4], model, device="cpu")
    table = write_fingerprints(dataset, tmp_path / "t.parquet")
    a, b = tmp_path / "a" / "2dm-21.json", tmp_path / "b" / "2dm-21.json"
    for path in (a, b):
        path.parent.mkdir()
        shutil.copy(ROOT / "data" / "2dmatpedia-dft-bands" / "2dm-21.json", path)
    assert material_id_of(a) == material_id_of(b)
    out = tmp_path / "similar.csv"
    capsys.readouterr()
    assert elf(["similar", str(a), str(b), "--fingerprints", str(table), "--model", str(model), "--k", "2",
                "--device", "cpu", "--no-cluster", "--out", str(out)]) == 0
    result = pd.read_csv(out)
    assert result["query"].tolist() == ["2dm-21"] * 4
    assert result["query_file"].tolist() == [str(a)] * 2 + [str(b)] * 2
    assert str(a) in capsys.readouterr().out
