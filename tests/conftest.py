"""Shared fixtures: the 12 real 2Dmatpedia band files shipped in data/, a tiny band store made from them, an
isolated pipeline cache, and one torch thread.

torch and the pipeline are imported inside the fixtures that need them, so tests that use neither do not pay
for the imports.
"""

from __future__ import annotations

import dataclasses

import pytest

from elfutils.data.dataset import real_band_files

# the DFT tests' cells: MgF2, TlF, SrCl2 -- 2-3 atoms, spin-paired, seconds each with the real recipe
TINY_CELLS = ("2dm-1799", "2dm-3775", "2dm-1453")


@pytest.fixture(scope="session")
def fixture_files():
    files = real_band_files()
    assert len(files) == 12, "data/2dmatpedia-dft-bands should hold the 12 real band files"
    return files


@pytest.fixture(scope="session")
def fixture_records(fixture_files):
    from elfutils.data.readers import read_band_file

    return {p.stem: read_band_file(p) for p in fixture_files}


@pytest.fixture
def tiny_store(tmp_path, fixture_files):
    """A band store of 4 records: the first four fixture band files under the ids t-0 .. t-3."""
    from elfutils.data.readers import read_band_file
    from elfutils.data.store import BandStore

    store = BandStore(tmp_path / "tiny.elfstore")
    store.append([dataclasses.replace(read_band_file(p), material_id=f"t-{i}")
                  for i, p in enumerate(fixture_files[:4])])
    return store


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty pipeline cache (``ELF_CACHE_DIR`` = tmp_path/cache, returned) and no committed models
    (the stages' ``committed_models_dir`` = tmp_path/models); nothing in the pipeline's memory before or after
    the test."""
    from elfutils.book import pipeline, stages  # pipeline loads every stage module

    monkeypatch.setenv("ELF_CACHE_DIR", str(tmp_path / "cache"))
    from elfutils.book import cache as engine

    for stage in (stages.model, stages.architectures):
        monkeypatch.setattr(stage, "committed_models_dir", lambda: tmp_path / "models")
    monkeypatch.setattr(engine, "committed_models_dir", lambda: tmp_path / "models")  # the committed results
    pipeline.clear_memory()
    yield tmp_path / "cache"
    pipeline.clear_memory()


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's tests (restored afterwards): on a busy 2-core machine a second thread
    mostly waits for the first, and results are bit-identical only for a fixed thread count. A module opts in
    with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
