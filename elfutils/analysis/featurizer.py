"""elf as a matminer featurizer: a pymatgen ``BandStructureSymmLine`` in, the 98 fingerprint numbers out.

    from elfutils.analysis.featurizer import ElfFingerprint
    df = ElfFingerprint().featurize_dataframe(df, "band_structure")   # adds columns elf_0 .. elf_97

Each band structure goes through the same steps as ``elf similar``: the project's energy zero
(:func:`elfutils.data.energy_zero.to_project_zero`), the 224-pixel ±4 eV image
(:func:`elfutils.images.render.render_band_image`) and the trained encoder (the committed model by default).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matminer.featurizers.base import BaseFeaturizer

from elfutils.paths import models_dir

DEFAULT_MODEL = "elf-resnet18/best.safetensors"  # inside models/: the committed model


class ElfFingerprint(BaseFeaturizer):
    """The elf fingerprint (Pentz, Warford et al., Commun. Phys. 2025) of a band structure along a
    high-symmetry path: the 7 x 7 x 2 latent of a convolutional autoencoder trained on band-structure images.

    Args:
        model: a model file or training folder (default: the committed model of this repository).
        keep_file_zero: keep each band structure's own Fermi level as the energy zero (default: a gapped
            material's zero is moved just above its valence-band maximum, as 2Dmatpedia and our DFT do).
        device: torch device (default: ELF_DEVICE, else CUDA when present).
    """

    def __init__(self, model: str | Path | None = None, keep_file_zero: bool = False,
                 device: str | None = None):
        self.model = Path(model) if model is not None else models_dir() / DEFAULT_MODEL
        self.keep_file_zero = keep_file_zero
        self.device = device
        self._net = None
        self._config = None
        # one process: matminer's default pool would fork a process per core, each loading the network (and
        # a fork of a process that has started torch's threads can deadlock); torch uses the cores itself
        self.set_n_jobs(1)

    def _loaded(self):
        if self._net is None:
            from elfutils.nn.checkpoint import load_model
            from elfutils.paths import default_device

            self._net, self._config, _ = load_model(self.model, device=self.device or default_device())
        return self._net, self._config

    def featurize(self, band_structure) -> list[float]:
        """The fingerprint of one pymatgen ``BandStructureSymmLine`` (a list of ``fingerprint_length``
        floats)."""
        from elfutils.data.energy_zero import keep_file_zero, to_project_zero
        from elfutils.data.readers import from_pymatgen
        from elfutils.images.render import render_band_image
        from elfutils.nn.training import encode_images

        net, config = self._loaded()
        record = from_pymatgen(band_structure)
        record = keep_file_zero(record) if self.keep_file_zero else to_project_zero(record)
        image = render_band_image(record, size=config.image_size)
        fingerprint = np.asarray(encode_images(net, image[None]), dtype=float).reshape(-1)
        if not np.isfinite(fingerprint).all():
            raise ValueError(f"{self.model}: the model gives a non-finite fingerprint")
        return fingerprint.tolist()

    def feature_labels(self) -> list[str]:
        _, config = self._loaded()
        return [f"elf_{i}" for i in range(config.fingerprint_length)]

    def citations(self) -> list[str]:
        return [
            "@article{pentz2025elf, title = {Elf autoencoder for unsupervised exploration of flat-band "
            "materials using electronic band structure fingerprints}, author = {Pentz, Henry Kelbrick and "
            "Warford, Thomas and others}, journal = {Communications Physics}, year = {2025}}"
        ]

    def implementors(self) -> list[str]:
        return ["the elf reproduction project (elfutils)"]
