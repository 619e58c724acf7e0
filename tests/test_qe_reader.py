"""Quantum ESPRESSO's data-file-schema.xml of a real pw.x bands run (h-BN, data/reader-fixtures/qe/make.sh),
against our GPAW run of the same cell: the same path, a similar gap, and each other's nearest neighbour."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elfutils.data.readers import read_band_file
from elfutils.data.store import BandStore
from elfutils.errors import BandDataError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "reader-fixtures"
QE_XML = FIXTURES / "qe" / "2dm-4991.data-file-schema.xml"


@pytest.fixture(scope="module")
def gpaw_twin():
    return BandStore(FIXTURES / "2dm-4991.elfstore").get("2dm-4991")


def test_the_xml_reads_as_the_same_path_with_labels_from_the_2d_path(gpaw_twin):
    with pytest.warns(UserWarning, match="names no high-symmetry points"):
        bs = read_band_file(QE_XML)
    assert bs.material_id == "2dm-4991" and bs.formula == "BN"
    assert bs.path_string() == gpaw_twin.path_string() == "Γ-K-M-Γ"
    np.testing.assert_allclose(bs.kpoints[:, :2], gpaw_twin.kpoints[:, :2], atol=1e-5)
    assert bs.band_gap() == pytest.approx(gpaw_twin.band_gap(), abs=0.3)  # plane waves vs LCAO: 4.69 vs 4.50
    assert bs.metadata["energy_zero"] == "vbm+offset"


def test_qe_and_gpaw_find_each_other_first(gpaw_twin, fixture_files):
    from elfutils.analysis.evaluation import retrieval_ranks
    from elfutils.images.render import render_band_image
    from elfutils.nn.checkpoint import load_model
    from elfutils.nn.training import encode_images
    from elfutils.paths import models_dir

    model, _, _ = load_model(models_dir() / "elf-resnet18" / "best.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qe, qe_own = read_band_file(QE_XML), read_band_file(QE_XML, zero="file")
    others = [read_band_file(f) for f in fixture_files]
    others += list(BandStore(FIXTURES.parent / "bands" / "gpaw-pbe-fixtures.elfstore"))
    X = encode_images(model, np.stack([render_band_image(r) for r in [*others, gpaw_twin, qe, qe_own]]))
    pool, twin, q, q_own = X[: len(others)], X[len(others)], X[-2], X[-1]
    assert retrieval_ranks(q[None], np.vstack([pool, twin]), [len(pool)]).tolist() == [1]
    assert retrieval_ranks(twin[None], np.vstack([pool, q]), [len(pool)]).tolist() == [1]
    # with QE's own Fermi level (1.2 eV above the VBM) the image moves and the twin is no longer first
    assert retrieval_ranks(q_own[None], np.vstack([pool, twin]), [len(pool)]).tolist() != [1]


def test_told_apart_by_content(tmp_path):
    copy = tmp_path / "my-run.xml"
    shutil.copyfile(QE_XML, copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert read_band_file(copy).nkpoints == 63


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(0.0, 0.999))
def test_a_truncated_xml_names_the_file(tmp_path_factory, cut):
    raw = QE_XML.read_bytes()
    path = tmp_path_factory.mktemp("qe") / "2dm-4991.data-file-schema.xml"
    path.write_bytes(raw[: int(cut * len(raw))])
    with pytest.raises(BandDataError, match=rf"^{path}: "):
        read_band_file(path)
