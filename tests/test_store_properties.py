"""A property of the band store (hypothesis): whatever sequence of appends, compactions, concurrent appends
and
writers killed between writing and moving a part into place, every acknowledged material is in the store
exactly once and reads back bit-identical to what was acknowledged."""

from __future__ import annotations

import threading

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elfutils.data.bands import BandStructure, Branch
from elfutils.data.store import BandStore

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 4)),
        st.tuples(st.just("compact"), st.integers(1, 5)),
        st.tuples(st.just("concurrent"), st.integers(1, 3)),
        st.tuples(st.just("killed"), st.integers(1, 3)),
        st.tuples(st.just("recompute"), st.integers(0, 50)),
    ),
    min_size=1, max_size=12,
)


def _record(material_id: str, seed: int, shift: float = 0.0) -> BandStructure:
    rng = np.random.default_rng(seed)
    nk, nb = int(rng.integers(2, 12)), int(rng.integers(1, 6))
    energies = np.sort(rng.uniform(-6, 6, size=(1, nb, nk)), axis=1) + shift
    return BandStructure(material_id, f"X{seed}", rng.random((nk, 3)), np.linspace(0, 1, nk),
                         (Branch(0, nk - 1, "G", "K"),), energies, float(rng.uniform(-1, 1)), "synthetic",
                         {"seed": seed})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_every_acknowledged_material_is_there_once_and_bit_identical(tmp_path_factory, ops):
    store = BandStore(tmp_path_factory.mktemp("prop") / "p.elfstore")
    acknowledged: dict[str, BandStructure] = {}  # what each append returned for, as read back then
    counter = iter(range(10**6))

    def append(n: int) -> None:
        records = [_record(f"m{next(counter)}", seed=len(acknowledged) * 7 + i) for i in range(n)]
        writer = BandStore(store.path)  # each writer its own object, as separate processes would be
        writer.append(records)
        for r in records:
            acknowledged[r.material_id] = BandStore(store.path).get(r.material_id)

    for op, n in ops:
        if op == "append":
            append(n)
        elif op == "compact":
            BandStore(store.path).compact(min_part_size=n)
        elif op == "concurrent":
            threads = [threading.Thread(target=append, args=(n,)) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        elif op == "killed":  # a writer killed after writing its temporary file, before the rename
            store.path.mkdir(parents=True, exist_ok=True)
            (store.path / f".part-{n:06d}.npz.killed{n}.tmp").write_bytes(b"PK\x03\x04" + bytes(n * 100))
        elif op == "recompute" and acknowledged:  # a newer result for a stored material supersedes the old
            mid = sorted(acknowledged)[n % len(acknowledged)]
            BandStore(store.path).append([_record(mid, seed=10_000 + n, shift=0.25)])
            acknowledged[mid] = BandStore(store.path).get(mid)

    final = BandStore(store.path)
    ids = final.ids()
    assert len(ids) == len(set(ids)) == len(acknowledged) and set(ids) == set(acknowledged)
    for mid, expected in acknowledged.items():
        got = final.get(mid)
        assert got.formula == expected.formula and got.metadata == expected.metadata
        np.testing.assert_array_equal(got.energies, expected.energies)
        np.testing.assert_array_equal(got.kpoints, expected.kpoints)
        assert got.efermi == expected.efermi
