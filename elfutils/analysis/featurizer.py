"""elf as a matminer featurizer: a pymatgen ``BandStructureSymmLine`` in, the 98 fingerprint numbers out.

    from elfutils.analysis.featurizer import ElfFingerprint
    df = ElfFingerprint().featurize_dataframe(df, "band_structure")   # adds columns f0 .. f97

Each band structure goes through the same steps as ``elf similar``: the project's energy zero
(:func:`elfutils.data.energy_zero.to_project_zero`), an image drawn with the model card's render settings
(224 px, ±4 eV for the paper's network) and the encoder (:class:`elfutils.nn.fingerprinter.Fingerprinter`;
the committed model by default). The columns are named as in every fingerprint table (`elf encode`'s,
:func:`elfutils.analysis.fingerprints.make_table`), so a frame with ``material_id`` and ``formula`` beside
them goes straight into :func:`elfutils.analysis.similar.find_similar`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matminer.featurizers.base import BaseFeaturizer


class ElfFingerprint(BaseFeaturizer):
    """The elf fingerprint (Pentz, Warford et al., Commun. Phys. 2025) of a band structure along a
    high-symmetry path: the 7 x 7 x 2 latent of a convolutional autoencoder trained on band-structure images.

    Args:
        model: a model file, training folder or model name (default: the committed model of this repository);
            its card's render settings draw the images.
        keep_file_zero: keep each band structure's own Fermi level as the energy zero (default: the card's
            convention, the project's: a gapped material's zero just above its valence-band maximum).
        device: torch device (default: ELF_DEVICE, else CUDA when present).
    """

    def __init__(self, model: str | Path | None = None, keep_file_zero: bool = False,
                 device: str | None = None):
        from elfutils.nn.fingerprinter import DEFAULT_MODEL

        self.model = model if model is not None else DEFAULT_MODEL
        self.keep_file_zero = keep_file_zero
        self.device = device
        self._fingerprinter = None
        # one process: matminer's default pool would fork a process per core, each loading the network (and
        # a fork of a process that has started torch's threads can deadlock); torch uses the cores itself
        self.set_n_jobs(1)

    def _loaded(self):
        if self._fingerprinter is None:
            from elfutils.nn.fingerprinter import load_fingerprinter

            self._fingerprinter = load_fingerprinter(self.model, device=self.device)
        return self._fingerprinter

    def featurize(self, band_structure) -> list[float]:
        """The fingerprint of one pymatgen ``BandStructureSymmLine`` (a list of ``fingerprint_length``
        floats)."""
        from elfutils.data.energy_zero import keep_file_zero, to_project_zero
        from elfutils.data.readers import from_pymatgen

        model = self._loaded()
        record = from_pymatgen(band_structure)
        keep = self.keep_file_zero or model.settings.energy_zero == "file"
        record = keep_file_zero(record) if keep else to_project_zero(record)
        fingerprint = np.asarray(model.fingerprints([record]), dtype=float).reshape(-1)
        if not np.isfinite(fingerprint).all():
            raise ValueError(f"{model.path}: the model gives a non-finite fingerprint")
        return fingerprint.tolist()

    def feature_labels(self) -> list[str]:
        """``f0`` .. ``f97``: the fingerprint tables' column names."""
        return [f"f{i}" for i in range(self._loaded().fingerprint_length)]

    def citations(self) -> list[str]:
        return [
            "@article{pentz2025elf, title = {Elf autoencoder for unsupervised exploration of flat-band "
            "materials using electronic band structure fingerprints}, author = {Pentz, Henry Kelbrick and "
            "Warford, Thomas and others}, journal = {Communications Physics}, year = {2025}}"
        ]

    def implementors(self) -> list[str]:
        return ["the elf reproduction project (elfutils)"]
