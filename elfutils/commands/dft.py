"""`elf dft`: compute band structures with GPAW for a list of materials (resumable batch on Dask)."""

from __future__ import annotations

import os
from pathlib import Path

from elfutils.commands._common import INPUT_ERRORS, report_error


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "dft", help="compute band structures with GPAW LCAO-PBE (resumable batch on Dask)",
        description="Compute band structures with GPAW (LCAO, PBE; elfutils.dft.recipe) from the real "
        "2Dmatpedia structures in data/2dmatpedia-structures, along 2Dmatpedia's 2D k-paths, into a band "
        "store: by default the 2002 flat-band materials into data/bands/gpaw-pbe.elfstore (`make data`). "
        "The batch runs on Dask, a local cluster of one single-threaded worker per core or --scheduler; "
        "each material runs in a child process under --time-limit, a failure is retried once, every attempt "
        "is recorded in <store>/failures.jsonl, and the same command resumes a killed run. Needs GPAW "
        "(`make gpaw`). Exit code 1 when no material could be computed.")
    p.add_argument("ids", nargs="*",
                   help="material ids (default: the 2002 flat-band materials with structures)")
    p.add_argument("--ids-file", type=Path, help="a text file with one material id per line")
    p.add_argument("--atlas", action="store_true",
                   help="every other 2Dmatpedia material with an ID (not in the flat-band store), into "
                        "data/bands/gpaw-pbe-atlas.elfstore")
    p.add_argument("--store", type=Path, help="band store to fill (default: data/bands/gpaw-pbe.elfstore)")
    p.add_argument("--fixtures", action="store_true",
                   help="compute the 12 materials with real 2Dmatpedia band files, on the files' own "
                        "k-points, "
                        "into data/bands/gpaw-pbe-fixtures.elfstore")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                       "(default: $ELF_DASK_SCHEDULER, else a local cluster)")
    p.add_argument("--workers", type=int, default=os.cpu_count(),
                   help="worker processes of the local cluster (default: one per core, here %(default)s)")
    p.add_argument("--time-limit", type=float, default=1800.0,
                   help="seconds per material and attempt (default: %(default)s)")
    p.add_argument("--limit", type=int, help="compute at most this many new materials")
    p.add_argument("--retry-failed", action="store_true",
                   help="also retry materials that failed twice before")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def _record_from_band_file(path) -> dict:
    """A structures.jsonl-like record from the structure inside a 2Dmatpedia band file."""
    import json

    structure = json.loads(Path(path).read_text())["structure"]
    from pymatgen.core import Structure

    s = Structure.from_dict(structure)
    return {"material_id": path.stem, "lattice": s.lattice.matrix.tolist(),
            "species": [str(x) for x in s.species], "frac_coords": s.frac_coords.tolist()}


def stale_ids(store, jobs, settings) -> set[str]:
    """Stored materials whose result predates a settings change that concerns them: computed without the
    Hubbard U that ``settings`` now applies to their cell (the metadata of such runs has no ``hubbard_u``)."""
    from elfutils.dft.recipe import hubbard_u_values

    wanted = {j.material_id for j in jobs if hubbard_u_values(j.structure_record["species"], settings)}
    return {m["material_id"] for m in store.metadata()
            if m["material_id"] in wanted and "hubbard_u" not in m}


def requested_ids(args) -> list[str] | None:
    """The ids asked for on the command line and in ``--ids-file``; None when neither names any (the default
    set applies). A missing or empty ids file is bad input, not "everything"."""
    ids = list(args.ids)
    if args.ids_file:
        if not args.ids_file.is_file():
            raise FileNotFoundError(f"{args.ids_file}: no such ids file")
        from_file = [line.strip() for line in args.ids_file.read_text().splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
        if not from_file:
            raise ValueError(f"{args.ids_file}: the ids file names no material")
        ids += from_file
    return ids or None


def run(args) -> int:
    os.environ["OMP_NUM_THREADS"] = "1"  # before numpy/GPAW load: one thread per worker process
    try:
        return _run(args)
    except INPUT_ERRORS as exc:
        return report_error("dft", exc)


def _run(args) -> int:
    from elfutils.data.dataset import (
        atlas_store_path,
        data_dir,
        dft_store_path,
        flat_band_ids,
        real_band_files,
        structure_records,
    )
    from elfutils.data.store import BandStore
    from elfutils.dft.batch import DFTUnavailableError, Job, final_failures, run_dft_batch
    from elfutils.dft.recipe import DFTSettings, batch_cost

    if args.fixtures:
        store = args.store or data_dir() / "bands/gpaw-pbe-fixtures.elfstore"
        # the band file's own structure and k-points: the closest possible comparison with 2Dmatpedia's VASP
        jobs = [Job(p.stem, _record_from_band_file(p), kpoints_from=str(p)) for p in real_band_files()]
    else:
        records = structure_records()
        requested = requested_ids(args)
        if args.atlas:
            from elfutils.dft.targets import atlas_ids

            store, ids = args.store or atlas_store_path(), (requested or atlas_ids())
        else:
            store, ids = args.store or dft_store_path(), (requested or flat_band_ids())
        unknown = [i for i in ids if i not in records]
        for mid in unknown:
            print(f"skipped {mid}: no structure in data/2dmatpedia-structures")
        known = sorted((i for i in dict.fromkeys(ids) if i in records),
                       key=lambda i: batch_cost(records[i]["species"]))
        if not known:
            raise ValueError(f"none of the {len(ids)} requested id(s) has a structure in "
                             "data/2dmatpedia-structures: nothing to compute")
        jobs = [Job(mid, records[mid]) for mid in known]
    redo = stale_ids(BandStore(store), jobs, DFTSettings())
    if redo:
        print(f"{len(redo)} stored material(s) were computed before a settings change that concerns them "
              "(Hubbard U); computing them again")
    if args.limit is not None:
        done = set(BandStore(store).ids()) - redo
        jobs = [j for j in jobs if j.material_id not in done][: args.limit]
    try:
        counts = run_dft_batch(jobs, store, workers=args.workers, time_limit_s=args.time_limit,
                               retry_failed=args.retry_failed, progress=not args.no_progress, redo=redo,
                               scheduler=args.scheduler)
    except DFTUnavailableError as exc:
        return report_error("dft", exc)
    print(f"store {store}: {len(BandStore(store))} materials; this run: {counts}")
    failed = final_failures(store)
    if failed:
        print(f"{len(failed)} material(s) failed twice (see {Path(store) / 'failures.jsonl'})")
    return 0 if counts["done"] or not jobs or counts["skipped_done"] else 1
