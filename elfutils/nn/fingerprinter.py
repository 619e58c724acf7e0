"""A trained model together with the render settings its card records: band structures in, fingerprints out.

The one way the library turns band structures into fingerprints (``elf encode``, ``elf similar``, the matminer
featurizer and the book all call it), so a model is never fed images drawn with settings other than those it
was trained on: the images are drawn from the card's :class:`~elfutils.images.settings.RenderSettings`, and a
ready-made image stack is checked against them.

Two networks load here, told apart by the card's ``architecture`` field (:func:`load_network`): the paper's
autoencoder (cards without the field) and elf-2 (``elfutils.nn.elf2``, two-plane images ``(N, C, S, S)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from elfutils.data.bands import BandStructure
from elfutils.images.settings import RenderSettings

DEFAULT_MODEL = "elf-resnet18"  # the committed model of the paper's network (models/elf-resnet18/)
ELF2_MODEL = "elf2"  # the committed elf-2 (models/elf2/): an option, not the default (book/elf2.py says why)


@dataclass
class Fingerprinter:
    """A loaded model (eval mode), its config and card, the render settings its inputs need, its file.
    ``net`` is an :class:`elfutils.nn.model.ElfAutoencoder` or an :class:`elfutils.nn.elf2.Elf2Net`,
    ``config`` the config class that goes with it."""

    net: nn.Module
    config: object
    card: dict
    settings: RenderSettings
    path: Path

    @property
    def fingerprint_length(self) -> int:
        return self.config.fingerprint_length

    def render(self, records: Iterable[BandStructure], skipped: list | None = None,
               progress: bool = False) -> tuple[np.ndarray, list[str], list[str]]:
        """Draw records with the card's settings: (images uint8 (N, S, S), or (N, C, S, S) for a model of
        several channels, ids, formulas); ``skipped`` as :func:`elfutils.images.render.render_many` takes
        it."""
        return self.settings.render_many(records, progress=progress, skipped=skipped)

    def encode(self, images: np.ndarray, batch_size: int = 64, precision: str = "fp32",
               progress: bool = False) -> np.ndarray:
        """Fingerprints of images drawn with the card's settings, (N, S, S) or (N, C, S, S): float32
        (N, fingerprint_length)."""
        from elfutils.nn import elf2

        if isinstance(self.net, elf2.Elf2Net):
            return elf2.encode_images(self.net, images, batch_size, precision, progress)
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
    with the render settings of its card; the paper's autoencoder or elf-2, as the card says."""
    from elfutils.nn import elf2
    from elfutils.nn.checkpoint import card_render_settings, resolve_model_path
    from elfutils.paths import default_device

    path = resolve_model_path(model)
    net, config, card = load_network(path, device=device or default_device())
    settings = elf2.card_settings(card) if isinstance(net, elf2.Elf2Net) else card_render_settings(card)
    return Fingerprinter(net, config, card, settings, path)


def read_model_card(model: str | Path) -> dict:
    """The checked card of a model file of either network (file, training folder or name), without building
    the model: ``architecture`` "elf2-vicreg" is elf-2, a card without the field the paper's autoencoder."""
    from elfutils.nn import checkpoint, elf2

    path = checkpoint.resolve_model_path(model)
    architecture = elf2.card_architecture(elf2.raw_card(path))
    if architecture == elf2.ARCHITECTURE:
        return elf2.read_card(path)
    if architecture != elf2.AUTOENCODER:
        raise checkpoint.CheckpointError(path, f"unknown architecture {architecture!r} (known: "
                                               f"{elf2.AUTOENCODER!r}, {elf2.ARCHITECTURE!r})")
    return checkpoint.read_card(path)


def load_network(model: str | Path, device: str = "cpu") -> tuple[nn.Module, object, dict]:
    """(network in eval mode on ``device``, its config, its card) for a model file of either network, as
    :func:`read_model_card` tells them apart. Loading reads tensors and JSON only, never code."""
    from elfutils.nn import checkpoint, elf2

    path = checkpoint.resolve_model_path(model)
    if elf2.card_architecture(read_model_card(path)) == elf2.ARCHITECTURE:
        return elf2.load_model(path, device)
    return checkpoint.load_model(path, device)
