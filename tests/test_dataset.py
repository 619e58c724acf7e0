"""The project's flat-band set and the data shipped in data/."""

from elfutils.data.dataset import flat_band_ids, flat_band_pool, structure_records
from elfutils.paths import data_dir


def test_pool_counts_and_reasons():
    pool = flat_band_pool()
    assert len(pool) == 2132
    assert pool.has_structure.sum() == 2002
    absent = pool[~pool.has_structure]
    assert len(absent) == 130
    assert (absent.absence_reason != "").all()
    # 129 f-element compounds (other than La/Ce) and one Xe compound
    assert absent.absence_reason.str.startswith("f-element").sum() == 129
    assert absent.absence_reason.str.startswith("Xe").sum() == 1


def test_every_flat_band_id_has_a_structure():
    records = structure_records()
    ids = flat_band_ids()
    assert len(ids) == 2002 and len(set(ids)) == 2002
    assert all(i in records for i in ids)
    r = records["2dm-1"]
    assert r["formula_pretty"] == "IrF2" and len(r["species"]) == len(r["frac_coords"])


def test_data_readme_cites_sources():
    text = (data_dir() / "README.md").read_text()
    for needle in ("Zhou", "Sci. Data", "Bhattacharya", "npj Comput"):
        assert needle in text
