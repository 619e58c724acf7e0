"""Which materials each DFT store is for: the flat-band store holds the 2002 flat-band materials with
structures; the atlas store every other 2Dmatpedia material with an ID."""

from __future__ import annotations

from elfutils.data.dataset import dft_store_path, structure_records
from elfutils.data.store import BandStore
from elfutils.dft.batch import final_failures


def atlas_ids() -> list[str]:
    """Every 2Dmatpedia material with an ID and a structure that the flat-band store neither holds nor gave up
    on after two attempts (those stay listed in its failures file), in ``structures.jsonl`` order."""
    held = set(BandStore(dft_store_path()).ids()) | set(final_failures(dft_store_path()))
    return [mid for mid in structure_records() if mid not in held]
