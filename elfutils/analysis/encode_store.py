"""Band store -> fingerprint table in chunks: memory bounded by the chunk, not by the store.

``elf encode --store`` for stores of 100 000 materials and more: records are read one store part at a time
(:meth:`elfutils.data.store.BandStore.stream`), drawn with the model card's render settings and encoded
``chunk`` at a time, and each chunk's rows go straight to the output file (a Parquet row group, or CSV lines),
which is moved into place only when complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from elfutils.analysis.fingerprints import check_finite_fingerprints, make_table

ENCODE_CHUNK = 1024  # materials rendered and encoded at once: ~50 MB of 224-px images


def chunks(records: Iterable, size: int) -> Iterable[list]:
    """Lists of up to ``size`` consecutive records."""
    batch = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def encode_store(store_path: str | Path, model, out: str | Path, chunk: int = ENCODE_CHUNK,
                 batch_size: int = 64, precision: str = "fp32",
                 on_chunk: Callable[[int], None] | None = None) -> int:
    """Encode every material of a band store into the fingerprint table ``out`` (.parquet or .csv).

    Parameters
    ----------
    model : a :class:`elfutils.nn.fingerprinter.Fingerprinter` (its card's render settings draw the images)
    chunk : materials per chunk (memory ~ chunk x image size^2 bytes, plus one store part)
    on_chunk : called with the number of materials done after each chunk (progress)

    Returns
    -------
    int, materials written. Non-finite fingerprints stop the run with a ValueError naming the first
    material; nothing is written then.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from elfutils.data.store import BandStore
    from elfutils.io import atomic_write_via_path

    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    store = BandStore(store_path)
    if not store.part_paths():
        raise ValueError(f"{store_path}: no band store parts here")
    parquet = Path(out).suffix.lower() in (".parquet", ".pq")
    done = 0

    def write(tmp: str) -> None:
        nonlocal done
        writer = None
        with open(tmp, "w" if not parquet else "wb") as fh:
            for records in chunks(store.stream(), chunk):
                images, _, _ = model.render(records)
                fingerprints = model.encode(images, batch_size, precision)
                ids = [bs.material_id for bs in records]
                check_finite_fingerprints(fingerprints, ids, store_path)
                table = make_table(ids, [bs.formula for bs in records], fingerprints.astype(np.float64))
                if parquet:
                    batch = pa.Table.from_pandas(table, preserve_index=False)
                    writer = writer or pq.ParquetWriter(fh, batch.schema)
                    writer.write_table(batch)
                else:
                    table.to_csv(fh, index=False, header=done == 0)
                done += len(records)
                if on_chunk:
                    on_chunk(done)
            if writer is not None:
                writer.close()

    atomic_write_via_path(out, write)
    return done
