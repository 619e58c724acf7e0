# ruff: noqa: E501
# (GOOD below is verbatim from the real file, wide pandas table included)
"""Sublattice parser, CrystalNN fingerprints, motif names and CNNF clusters on the elf map (Fig. 5)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from elfutils.analysis.structure import (
    SUBLATTICE_FILE,
    bond_geometry,
    cnnf_fingerprints,
    localised_structural_clusters,
    motif_table,
    name_motif,
    parse_block,
    read_sublattice_structures,
    split_blocks,
    sublattice_table,
    umap_radius,
)
from elfutils.errors import BandDataError
from elfutils.paths import data_dir

GOOD = """2dm-21
TaI3   AB3
lattice vector
[[6.68636238, -0.0, 0.0], [-3.34318169, 5.79055869, -0.0], [0.0, -0.0, 22.719179]]
  label                                               xyz                        abc                         species         properties
0    Ta         [3.34318436651469, 1.93018429981377, 0.0]  [0.666667, 0.333333, 0.0]  [{'occu': 1, 'element': 'Ta'}]  {'magmom': 0.621}
1    Ta  [-3.6765146901502768e-06, 3.86037439018623, 0.0]  [0.333333, 0.666667, 0.0]  [{'occu': 1, 'element': 'Ta'}]  {'magmom': 0.621}

2dm-25
VBr4   AB4
lattice vector
[[5.10268987, 0.0, -0.0], [0.0, 5.10268987, 0.0], [0.0, 0.0, 24.723608]]
  label              xyz              abc                        species         properties
0     V  [0.0, 0.0, 0.0]  [0.0, 0.0, 0.0]  [{'occu': 1, 'element': 'V'}]  {'magmom': 1.069}

"""

BAD_LATTICE = """2dm-99
XY   AB
lattice vectors?
[[1, 0, 0], [0, 1, 0], [0, 0, 1]]
  label   xyz   abc   species   properties
"""

BAD_SITE = """2dm-98
VBr4   AB4
lattice vector
[[5.1, 0.0, 0.0], [0.0, 5.1, 0.0], [0.0, 0.0, 24.7]]
  label              xyz              abc                        species         properties
0     V  [0.0, 0.0]  [0.0, 0.0, 0.0]  [{'occu': 1, 'element': 'V'}]  {'magmom': 1.069}
"""


# --- parser -------------------------------------------------------------------------------------------------
def test_parse_good_blocks():
    blocks = split_blocks(GOOD)
    assert [(b[0], b[1]) for b in blocks] == [("2dm-21", 1), ("2dm-25", 9)]
    entry = parse_block(blocks[0][0], blocks[0][2])
    assert (entry.material_id, entry.formula, entry.generic_formula) == ("2dm-21", "TaI3", "AB3")
    s = entry.structure
    assert len(s) == 2 and {sp.symbol for sp in s.species} == {"Ta"}
    np.testing.assert_allclose(s[0].frac_coords, [0.666667, 0.333333, 0.0], atol=1e-5)
    assert s.site_properties["magmom"] == [0.621, 0.621]


def test_batch_skips_and_reports_malformed_blocks(tmp_path):
    path = tmp_path / "sub.txt"
    path.write_text(GOOD + BAD_LATTICE + " \n" + BAD_SITE)
    report = read_sublattice_structures(path)
    assert [e.material_id for e in report.results] == ["2dm-21", "2dm-25"]
    skipped = dict(report.skipped)
    assert set(skipped) == {"2dm-99 (line 16)", "2dm-98 (line 22)"}
    assert "block 2dm-99 (line 16)" in skipped["2dm-99 (line 16)"]
    assert "expected 'lattice vector'" in skipped["2dm-99 (line 16)"]
    assert "site row 1: xyz must be 3 finite numbers" in skipped["2dm-98 (line 22)"]


def test_parse_block_error_names_block():
    _, line, lines = split_blocks(BAD_SITE)[0]
    with pytest.raises(BandDataError, match=r"sub.txt: block 2dm-98 \(line 1\).*site row 1"):
        parse_block("2dm-98", lines, source="sub.txt", line=line)


@pytest.mark.skipif(not (data_dir() / SUBLATTICE_FILE).exists(), reason="real sublattice file not in data/")
def test_real_file_parses_completely():
    report = read_sublattice_structures()
    assert len(report.results) == 2132 and report.skipped == []
    table = sublattice_table(report.results)
    assert table["material_id"].is_unique
    assert (table["n_sites"] >= 1).all()


# --- ideal lattices -----------------------------------------------------------------------------------------
def _layer(lattice, frac_xy, z=None, element="V"):
    z = z or [0.5] * len(frac_xy)
    return Structure(lattice, [element] * len(frac_xy), [[x, y, zz] for (x, y), zz in zip(frac_xy, z, strict=True)])


HEX, SQUARE = Lattice.hexagonal(4.0, 20.0), Lattice.tetragonal(3.0, 20.0)
D48 = 1 / (2 + np.sqrt(2))  # square-octagon: equal in-square and between-square bonds
LATTICES = {
    "kagome": _layer(HEX, [(0, 0), (0.5, 0), (0, 0.5)]),
    "honeycomb": _layer(HEX, [(1 / 3, 2 / 3), (2 / 3, 1 / 3)]),
    "buckled honeycomb": _layer(HEX, [(1 / 3, 2 / 3), (2 / 3, 1 / 3)], z=[0.52, 0.48]),
    "square": _layer(SQUARE, [(0, 0)]),
    "triangular": _layer(Lattice.hexagonal(3.0, 20.0), [(0, 0)]),
    "Lieb": _layer(Lattice.tetragonal(4.0, 20.0), [(0, 0), (0.5, 0), (0, 0.5)]),
    "dice": _layer(HEX, [(0, 0), (1 / 3, 2 / 3), (2 / 3, 1 / 3)], z=[0.5, 0.55, 0.45]),
    "square-octagon": _layer(
        Lattice.tetragonal(4.0, 20.0),
        [(0.5 + D48, 0.5), (0.5 - D48, 0.5), (0.5, 0.5 + D48), (0.5, 0.5 - D48)],
    ),
}


@pytest.mark.parametrize("name", list(LATTICES))
def test_motif_namer_on_ideal_lattices(name):
    assert name_motif(LATTICES[name]) == name.replace("buckled ", "")


def _square_octagon(twist_degrees: float) -> Structure:
    """The ideal square-octagon net with each square turned about its centre (0: ideal): the squares stay
    squares, the bonds between them no longer continue the squares' diagonals."""
    t = np.radians(twist_degrees)
    turn = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    corners = [turn @ v for v in ((D48, 0), (-D48, 0), (0, D48), (0, -D48))]
    return _layer(Lattice.tetragonal(4.0, 20.0), [(0.5 + x, 0.5 + y) for x, y in corners])


def test_bond_geometry_measures_the_skew_of_a_square_octagon_net():
    table = bond_geometry({"ideal": _square_octagon(0.0), "twisted": _square_octagon(8.0)})
    ideal, twisted = table.loc["ideal"], table.loc["twisted"]
    assert ideal.coordination == "3" and ideal.motif == "square-octagon"
    assert ideal.smallest_angle == pytest.approx(90.0) and ideal.largest_angle == pytest.approx(135.0)
    assert twisted.coordination == "3" and twisted.motif is None
    assert twisted.smallest_angle == pytest.approx(90.0) and twisted.largest_angle > 145.0


def test_bond_geometry_on_the_papers_fig4_materials():
    """The paper's Fig. 4: InAs is a symmetric square-octagon net, TlBi a skewed one (2Dmatpedia structures)."""
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import structure_from_record

    records = structure_records()
    table = bond_geometry({m: structure_from_record(records[m]) for m in ("2dm-2474", "2dm-2650")})
    assert table.loc["2dm-2474", "motif"] == "square-octagon" and table.loc["2dm-2474", "formula"] == "InAs"
    assert table.loc["2dm-2650", "motif"] is None
    assert table.loc["2dm-2650", "smallest_angle"] < table.loc["2dm-2474", "smallest_angle"] - 20


def test_bond_geometry_of_an_isolated_atom_has_no_angles():
    table = bond_geometry({"atom": _layer(Lattice.tetragonal(30.0, 30.0), [(0, 0)])})
    assert np.isnan(table.loc["atom", "smallest_angle"]) and table.loc["atom", "motif"] is None


def test_motif_namer_returns_none_for_3d_cluster():
    blob = Structure(Lattice.cubic(10.0), ["O"] * 4, [[0, 0, 0], [0.13, 0, 0], [0, 0.17, 0], [0, 0, 0.21]])
    assert name_motif(blob) is None


def test_cnnf_separates_kagome_and_square():
    structures = {k: LATTICES[k] for k in ("kagome", "square", "honeycomb")}
    table, report = cnnf_fingerprints(structures, progress=False)
    assert report.skipped == [] and table.shape == (3, 61)
    assert list(table.index) == ["kagome", "square", "honeycomb"]
    assert np.linalg.norm(table.loc["kagome"] - table.loc["square"]) > 0.1
    coplanar = table["mean square co-planar CN_4"]
    assert coplanar["square"] > coplanar["kagome"]
    assert table.loc["honeycomb", "mean wt CN_3"] == pytest.approx(1.0)


def test_cnnf_cache_resumes(tmp_path):
    cache = tmp_path / "cnnf.parquet"
    first, _ = cnnf_fingerprints({"square": LATTICES["square"]}, progress=False, cache=cache)
    both, report = cnnf_fingerprints(
        {"square": LATTICES["square"], "kagome": LATTICES["kagome"]}, progress=False, cache=cache
    )
    assert list(both.index) == ["square", "kagome"] and report.skipped == []
    np.testing.assert_allclose(both.loc["square"], first.loc["square"])


# --- CNNF clusters on the UMAP ------------------------------------------------------------------------------
def test_localised_structural_clusters():
    rng = np.random.default_rng(0)
    background = rng.uniform(0, 20, size=(200, 2))
    tight = rng.normal([5, 5], 0.1, size=(8, 2))  # cluster 0: one island -> localised
    spread = rng.uniform(0, 20, size=(8, 2))  # cluster 1: scattered -> not
    small = rng.normal([15, 15], 0.1, size=(5, 2))  # cluster 2: tight but only 5 -> not (> 5 needed)
    chain = np.c_[np.linspace(0, 20, 60), np.full(60, 10.0)]  # cluster 3: linked, but across the map -> not
    # cluster 4: everywhere (100 scattered) plus one small island of 8: the island is not the cluster -> not
    everywhere = np.vstack([rng.uniform(0, 20, size=(100, 2)), rng.normal([2, 18], 0.1, size=(8, 2))])
    coords = np.vstack([background, tight, spread, small, chain, everywhere])
    labels = np.r_[-np.ones(200, int), np.zeros(8, int), np.ones(8, int), np.full(5, 2), np.full(60, 3),
                   np.full(108, 4)]
    table = localised_structural_clusters(coords, labels).set_index("cnnf_cluster")
    assert table["localised"].tolist() == [True, False, False, False, False]
    assert table.loc[4, "largest_island"] >= 8
    assert table.loc[0, "largest_group"] == 8 and table.loc[2, "largest_group"] == 5
    assert table.loc[3, "largest_group"] == 60 and table.loc[3, "group_extent"] > 0.6
    assert table.loc[3, "largest_island"] == 0 and table.loc[0, "largest_island"] == 8
    relaxed = localised_structural_clusters(coords, labels, max_extent_fraction=1.0, min_share=0.0)
    assert relaxed.set_index("cnnf_cluster").loc[3, "localised"]
    assert table.attrs["radius"] == pytest.approx(umap_radius(coords))
    assert 0.5 < table.attrs["radius"] < 2.0  # 5% of a ~20 x 20 map
    with pytest.raises(ValueError, match="coords must have shape"):
        localised_structural_clusters(coords[:10], labels)


def test_motif_table():
    structures = [LATTICES["kagome"]] * 3 + [LATTICES["square"]] * 2 + [LATTICES["honeycomb"]]
    table = motif_table(structures, [0, 0, 0, 1, 1, 1]).set_index("cnnf_cluster")
    assert table.loc[0, "motif"] == "kagome" and table.loc[0, "motif_fraction"] == 1.0
    assert table.loc[1, "motif"] == "square" and table.loc[1, "motif_fraction"] == pytest.approx(2 / 3)


def test_cnnf_on_elf_map():
    import pandas as pd

    from elfutils.analysis.structure import cnnf_on_elf_map

    rng = np.random.default_rng(1)
    elf = pd.DataFrame({"material_id": [f"m{i}" for i in range(40)]})
    elf["umap_x"], elf["umap_y"] = rng.uniform(0, 20, 40), rng.uniform(0, 20, 40)
    elf.loc[:6, ["umap_x", "umap_y"]] = rng.normal(3, 0.05, size=(7, 2))  # m0..m6 together
    labels = pd.Series([0] * 7 + [1] * 7, index=[f"m{i}" for i in range(14)])
    placed, table = cnnf_on_elf_map(elf, labels)
    assert placed["cnnf_cluster"].tolist() == [0] * 7 + [1] * 7 + [-1] * 26
    assert table.set_index("cnnf_cluster")["localised"].to_dict() == {0: True, 1: False}


def test_cnnf_retries_sparse_sublattice():
    # the geometry of 2dm-366 (WI3's W sublattice): CrystalNN's Voronoi step finds nothing within 7 A
    lattice = Lattice([[7.08894559, 0, 0], [-3.54447379, 6.1392082, 0], [0, 0, 22.87158]])
    sparse = _layer(lattice, [(0, 0), (0.666667, 0.333333)], z=[0.895748, 0.895774], element="W")
    table, report = cnnf_fingerprints({"sparse": sparse}, progress=False)
    assert report.skipped == [] and table.attrs["retried"] == ["sparse"]
    _, report = cnnf_fingerprints({"sparse": sparse}, progress=False, retry_cutoff=0)
    assert len(report.skipped) == 1 and "No Voronoi neighbors" in report.skipped[0][1]
