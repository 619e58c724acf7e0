"""A property of the band store (hypothesis): whatever sequence of appends, compactions, concurrent appends
and
writers killed between writing and moving a part into place, every acknowledged material is in the store
exactly once and reads back bit-identical to what was acknowledged. A writer thread that raises fails the
test (its exception is re-raised in the test's thread, not lost in the thread).

Then the two ways of reading the newest record of a recomputed material besides :meth:`BandStore.get`:
:meth:`BandStore.compact` run by a store object whose index predates another writer's recompute, and
:meth:`BandStore.stream` (what ``elf encode --store`` reads)."""

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


def run_concurrently(target, *args, n_threads: int) -> None:
    """``target(*args)`` in ``n_threads`` threads at once; the first exception a thread raised is re-raised
    here (a plain ``threading.Thread`` only prints it, and the test would go on as if the write had
    worked)."""
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def run() -> None:
        try:
            start.wait()  # all writers begin together: the overlap the lock must handle
            target(*args)
        except BaseException as exc:  # handed to the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


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
            run_concurrently(append, n, n_threads=2)
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


def test_concurrent_writers_all_succeed_and_keep_every_material(tmp_path):
    """Eight writers (each its own store object, as separate processes would be) append at the same moment:
    none raises, and every material each acknowledged is there once."""
    path = tmp_path / "c.elfstore"
    counter = iter(range(10**6))
    lock = threading.Lock()

    def append() -> None:
        for _ in range(3):
            with lock:
                mids = [f"m{next(counter)}" for _ in range(2)]
            BandStore(path).append([_record(mid, seed=int(mid[1:])) for mid in mids])

    run_concurrently(append, n_threads=8)
    ids = BandStore(path).ids()
    assert sorted(ids) == sorted(f"m{i}" for i in range(48)) and len(ids) == len(set(ids))


def test_compact_keeps_the_newer_record_even_from_an_older_index(tmp_path):
    """A material appended and then recomputed (a newer record, same id) keeps the newer record through a
    compaction: whether the compacting object appended both itself, or indexed the store before another
    writer appended the recompute (its index is then out of date; compaction must read the store afresh)."""
    path = tmp_path / "s.elfstore"
    old, newer = _record("x", seed=1), _record("x", seed=3, shift=0.25)

    same = BandStore(tmp_path / "same.elfstore")
    same.append([old])
    same.append([_record("y", seed=2)])
    same.append([newer])
    same.compact()
    assert len(same.part_paths()) == 1

    stale = BandStore(path)
    stale.append([old])
    stale.append([_record("y", seed=2)])
    assert stale.get("x").metadata["seed"] == 1  # stale has indexed the store as it is now
    BandStore(path).append([newer])  # another writer recomputes x
    merged = stale.compact()

    for reader in (BandStore(same.path), same, BandStore(path), stale):
        assert sorted(reader.ids()) == ["x", "y"]
        got = reader.get("x")
        assert got.metadata["seed"] == 3, f"{reader.path.name}: compaction kept the older record of x"
        assert np.abs(got.energies - newer.energies).max() <= 0.01  # the recompute's bands (float16)
    assert merged is not None and BandStore(path).part_paths() == [merged]  # every small part merged


def test_stream_gives_only_the_newest_record_of_each_material(tmp_path):
    """stream() yields every material once, and for a recomputed one the record get() gives (the newer),
    however the versions are spread over parts."""
    store = BandStore(tmp_path / "s.elfstore")
    store.append([_record("x", seed=1), _record("y", seed=2)])
    store.append([_record("x", seed=3, shift=0.25)])  # x recomputed
    store.append([_record("z", seed=4), _record("y", seed=5, shift=-0.25)])  # y recomputed, z new
    store.append([_record("x", seed=6, shift=0.5)])  # x recomputed again
    streamed = list(BandStore(store.path).stream())
    assert sorted(bs.material_id for bs in streamed) == ["x", "y", "z"]
    assert {bs.material_id: bs.metadata["seed"] for bs in streamed} == {"x": 6, "y": 5, "z": 4}
    for bs in streamed:
        expected = store.get(bs.material_id)
        assert bs.metadata == expected.metadata and bs.formula == expected.formula
        np.testing.assert_array_equal(bs.energies, expected.energies)
