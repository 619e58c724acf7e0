"""A trained model together with the render settings its card records: band structures in, fingerprints out.

The one way the library turns band structures into fingerprints (``elf encode``, ``elf similar``, the matminer
featurizer and the book all call it), so a model is never fed images drawn with settings other than those it
was trained on: the images are drawn from the card's :class:`~elfutils.images.settings.RenderSettings`, and a
ready-made image stack is checked against them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from elfutils.data.bands import BandStructure
from elfutils.images.settings import RenderSettings
from elfutils.nn.model import ElfAutoencoder, ElfConfig

DEFAULT_MODEL = "elf-resnet18"  # the committed model of the paper's network (models/elf-resnet18/)


@dataclass
class Fingerprinter:
    """A loaded model (eval mode), its config and card, the render settings its inputs need, its file."""

    net: ElfAutoencoder
    config: ElfConfig
    card: dict
    settings: RenderSettings
    path: Path

    @property
    def fingerprint_length(self) -> int:
        return self.config.fingerprint_length

    def render(self, records: Iterable[BandStructure], skipped: list | None = None,
               progress: bool = False) -> tuple[np.ndarray, list[str], list[str]]:
        """Draw records with the card's settings: (images uint8 (N, S, S), ids, formulas); ``skipped`` as
        :func:`elfutils.images.render.render_many` takes it."""
        return self.settings.render_many(records, progress=progress, skipped=skipped)

    def encode(self, images: np.ndarray, batch_size: int = 64, precision: str = "fp32",
               progress: bool = False) -> np.ndarray:
        """Fingerprints of images drawn with the card's settings: float32 (N, fingerprint_length)."""
        from elfutils.nn.training import encode_images

        return encode_images(self.net, images, batch_size, precision, progress)

    def fingerprints(self, records: Sequence[BandStructure], batch_size: int = 64,
                     precision: str = "fp32") -> np.ndarray:
        """Render (card settings) and encode: float32 (N, fingerprint_length); a record that cannot be drawn
        raises :class:`elfutils.errors.BandDataError` naming it."""
        if not len(records):
            return np.zeros((0, self.fingerprint_length), np.float32)
        images, _, _ = self.render(records)
        return self.encode(images, batch_size, precision)

    def check_settings(self, other: RenderSettings, other_name: str) -> None:
        """Raise :class:`elfutils.images.settings.RenderSettingsError` naming the model, ``other_name`` and
        every differing value, unless ``other`` draws images the way this model was trained on."""
        self.settings.require_same(other, f"the model {self.path}", other_name)

    def check_stack(self, stack_path: str | Path) -> None:
        """An image stack must have been drawn with the card's settings (see :meth:`check_settings`)."""
        from elfutils.images.stack import stack_render_settings

        self.check_settings(stack_render_settings(stack_path), f"the image stack {stack_path}")


def load_fingerprinter(model: str | Path = DEFAULT_MODEL, device: str | None = None) -> Fingerprinter:
    """Load a model by file, training folder or name (``"elf-resnet18"``: ELF_MODELS_DIR, then ``models/``)
    with the render settings of its card."""
    from elfutils.nn.checkpoint import card_render_settings, load_model, resolve_model_path
    from elfutils.paths import default_device

    path = resolve_model_path(model)
    net, config, card = load_model(path, device=device or default_device())
    return Fingerprinter(net, config, card, card_render_settings(card), path)
