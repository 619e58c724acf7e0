"""Shared fixtures: the 12 real 2Dmatpedia band files shipped in data/."""

from __future__ import annotations

import pytest

from elfutils.dataset import real_band_files


@pytest.fixture(scope="session")
def fixture_files():
    files = real_band_files()
    assert len(files) == 12, "data/2dmatpedia-dft-bands should hold the 12 real band files"
    return files


@pytest.fixture(scope="session")
def fixture_records(fixture_files):
    from elfutils.readers import read_band_file

    return {p.stem: read_band_file(p) for p in fixture_files}
