"""Model and training-state files. Everything is safetensors: loading reads tensors and JSON, never runs code.

A model file ``<name>.safetensors`` holds the weights; its metadata key ``elf_card`` holds the model card
(JSON): format, config, the render settings its input images need, the fingerprint length, data hash, epoch,
history, precision, versions. Card format ``elf-model/2`` records the render settings
(:class:`elfutils.images.settings.RenderSettings`) and the fingerprint length; ``elf-model/1`` cards (written
before) load with the paper's render settings at their image size, marked as not recorded. A copy of the card
is written beside it as ``<name>.json`` for people and the book; the copy inside the weights file is the one
that is read back.

A training-state file ``<name>-state.safetensors`` holds what resuming needs beyond the weights: the
optimiser's per-parameter tensors (``opt.<param index>.<key>``), its param groups (JSON metadata) and the
global torch RNG state. All files are written atomically (:mod:`elfutils.io`: a temporary file in the same
folder, moved into place by os.replace), so an interruption never leaves a half-written checkpoint under the
real name.

Integrity: every file carries a sha256 of its tensors (the card's ``tensors_sha256``, the state file's
metadata), checked whenever it is read, so damaged tensor data is an error naming the file, never a silently
different model; weights that are not finite are refused at load. A card whose config disagrees with its own
render settings or fingerprint length (an edited card) is refused naming both values; a card without a tensor
hash loads with a warning that its weights are unchecked. A training folder's ``best.safetensors`` is
a copy of ``last.safetensors`` (never a hard link), so one damaged file cannot damage both. Files written
before the hash existed load without the check.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from elfutils.images.settings import RenderSettings
from elfutils.io import atomic_write_text, atomic_write_via_path
from elfutils.nn.model import ElfAutoencoder, ElfConfig
from elfutils.paths import model_search_dirs

MODEL_FORMAT = "elf-model/2"  # /2: the card records render_settings and fingerprint_length
MODEL_FORMATS = ("elf-model/1", MODEL_FORMAT)  # /1 cards read with the paper's render settings
STATE_FORMAT = "elf-training-state/1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: missing, corrupt, or from another config or data set. Names the
    file."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def data_hash(packed_images: np.ndarray, ids: Sequence[str]) -> str:
    """sha256 (hex) of the bit-packed images (N, S, ceil(S/8)) uint8 and the material ids, in order."""
    digest = hashlib.sha256()
    digest.update(str(packed_images.shape).encode())
    digest.update(np.ascontiguousarray(packed_images, dtype=np.uint8).tobytes())
    digest.update("\n".join(ids).encode())
    return digest.hexdigest()


def tensors_hash(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 (hex) of named tensors: each name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        value = tensors[key].detach().to("cpu").contiguous()
        digest.update(f"{key}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def _check_hash(path: Path, tensors: dict[str, torch.Tensor], expected: str | None) -> None:
    if expected is not None and tensors_hash(tensors) != expected:
        raise CheckpointError(path,
                              "tensor data do not match the sha256 in the file (damaged or edited file)")


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors (on CPU) and the metadata of a safetensors file; any failure -> CheckpointError."""
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            metadata = fh.metadata() or {}
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(path, f"corrupt or not a safetensors file ({exc})") from exc
    return tensors, metadata


# --- model files --------------------------------------------------------------------------------------------


def save_model(path: str | Path, model: ElfAutoencoder, card: dict,
               render_settings: RenderSettings | None = None) -> Path:
    """Write weights + card to ``path`` (.safetensors) and the card to ``path`` with suffix .json.
    ``render_settings``: what drew the training images (default: the paper's at the model's image size)."""
    settings = render_settings or RenderSettings(image_size=model.config.image_size)
    card = {"format": MODEL_FORMAT, "config": model.config.to_dict(), "render_settings": settings.to_dict(),
            "fingerprint_length": model.config.fingerprint_length, **card}
    _check_card_agrees(Path(path), card)
    # .contiguous(): channels_last weights are strided views; safetensors stores plain row-major tensors.
    weights = {key: value.detach().to("cpu").contiguous() for key, value in model.state_dict().items()}
    return _write_model_file(Path(path), weights, card)


def _write_model_file(path: Path, weights: dict[str, torch.Tensor], card: dict) -> Path:
    """Weights + card (safetensors metadata ``elf_card``, with the weights' sha256) to ``path``, the card
    also to ``path``.json."""
    text = json.dumps({**card, "tensors_sha256": tensors_hash(weights)}, indent=1)
    atomic_write_via_path(path, lambda tmp: save_file(weights, tmp, metadata={"elf_card": text}))
    atomic_write_text(path.with_suffix(".json"), text + "\n")
    return path


def export_model(source: str | Path, target: str | Path, dtype: str = "float16",
                 card_updates: dict | None = None) -> Path:
    """Write a lean copy of a model file (or a training folder's best model) for committing: weights stored
    as ``dtype`` (float16 halves the file; buffers that are not floating point keep theirs), the card
    unchanged apart from ``weights_dtype``, ``exported_from`` and ``card_updates``. :func:`load_model`
    restores float32 weights, so an exported model loads like any other."""
    source = resolve_model_path(source)
    tensors, metadata = _read(source)
    card = _parse_card(source, metadata)
    _check_hash(source, tensors, card.get("tensors_sha256"))
    cast = getattr(torch, dtype, None)
    if not isinstance(cast, torch.dtype) or not cast.is_floating_point:
        raise ValueError(f"dtype must name a torch floating-point type, got {dtype!r}")
    weights = {k: v.to(cast) if v.is_floating_point() else v for k, v in tensors.items()}
    config = ElfConfig.from_dict(card["config"])
    upgrade = {"format": MODEL_FORMAT, "render_settings": card_render_settings(card).to_dict(),
               "fingerprint_length": config.fingerprint_length}  # an /1 card leaves as /2, settings stated
    card = {**card, **upgrade, "exported_from": source.name, **(card_updates or {}), "weights_dtype": dtype}
    _check_card_agrees(Path(target), card)
    return _write_model_file(Path(target), weights, card)


def copy_model_file(source: str | Path, target: str | Path) -> Path:
    """Make ``target`` (and its .json card) a copy of a model file, each written atomically. A real copy, not
    a hard link: a training folder's best model must survive damage to its last one."""
    source, target = Path(source), Path(target)
    for src, dst in ((source, target), (source.with_suffix(".json"), target.with_suffix(".json"))):
        atomic_write_via_path(dst, lambda tmp, src=src: shutil.copyfile(src, tmp))
    return target


def read_card(path: str | Path) -> dict:
    """The card stored inside a model file, without building the model."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            metadata = fh.metadata() or {}
    except FileNotFoundError:
        raise CheckpointError(path, "no such checkpoint file") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(path, f"corrupt or not a safetensors file ({exc})") from exc
    return _parse_card(path, metadata)


def _parse_card(path: Path, metadata: dict[str, str]) -> dict:
    if "elf_card" not in metadata:
        raise CheckpointError(path, "not an elf model: the safetensors metadata has no 'elf_card'")
    try:
        card = json.loads(metadata["elf_card"])
        if card.get("format") not in MODEL_FORMATS:
            raise ValueError(f"format {card.get('format')!r}, expected one of {MODEL_FORMATS}")
        ElfConfig.from_dict(card["config"])
        card_render_settings(card)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(path, f"unusable model card: {exc}") from exc
    _check_card_agrees(path, card)
    return card


def card_render_settings(card: dict) -> RenderSettings:
    """The render settings a model's input images need: the card's, or for an ``elf-model/1`` card the
    paper's at its image size (``recorded=False``)."""
    return RenderSettings.from_dict(card.get("render_settings"), image_size=card["config"]["image_size"])


def _check_card_agrees(path: Path, card: dict) -> None:
    """A card's config must agree with its own render settings and fingerprint length (an edited
    ``image_size`` would otherwise encode every image at the wrong size, without a word)."""
    config = ElfConfig.from_dict(card["config"])
    settings = card_render_settings(card)
    if settings.image_size != config.image_size:
        raise CheckpointError(path, f"the card's config says image_size {config.image_size} but its render "
                                    f"settings say {settings.image_size} (an edited card?)")
    recorded = card.get("fingerprint_length")
    if recorded is not None and recorded != config.fingerprint_length:
        raise CheckpointError(path, f"the card's config gives a fingerprint of {config.fingerprint_length} "
                                    f"numbers but the card records {recorded} (an edited card?)")


def resolve_model_path(path: str | Path) -> Path:
    """A model file, or a training folder -> its best.safetensors (else last.safetensors); a bare name that
    is no file here (``"elf-resnet18"``) is a model folder of ELF_MODELS_DIR or the committed ``models/``."""
    path = Path(path)
    if not path.exists() and len(path.parts) == 1 and path.suffix != ".safetensors":
        folders = [folder / path for folder in model_search_dirs() if (folder / path).exists()]
        if not folders:
            where = " or ".join(str(d) for d in model_search_dirs())
            known = sorted({p.name for d in model_search_dirs() if d.is_dir() for p in d.iterdir()
                            if (p / "best.safetensors").is_file() or (p / "last.safetensors").is_file()})
            raise CheckpointError(path, f"no such model file or folder, nor a model of that name in {where} "
                                        f"(models by name: {', '.join(known) or 'none'})")
        path = folders[0]
    if path.is_dir():
        for name in ("best.safetensors", "last.safetensors"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(path, "folder holds no best.safetensors or last.safetensors")
    return path


def load_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[ElfAutoencoder, ElfConfig, dict]:
    """Load a model file (or a training folder's best model): (model in eval mode on ``device``, config,
    card)."""
    path = resolve_model_path(path)
    tensors, metadata = _read(path)
    card = _parse_card(path, metadata)
    _check_hash(path, tensors, card.get("tensors_sha256"))
    if card.get("tensors_sha256") is None:
        warnings.warn(f"{path}: the card records no tensor sha256, so its weights are unchecked "
                      "(re-export it with elfutils.nn.checkpoint.export_model to add one)", stacklevel=2)
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(path, f"weights that are not finite (NaN or infinite) in {', '.join(bad[:3])}"
                                    + (f" and {len(bad) - 3} more" if len(bad) > 3 else ""))
    config = ElfConfig.from_dict(card["config"])
    model = ElfAutoencoder(config)
    # exported models store float16 weights (export_model): compute in float32 as in training
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(path, f"weights do not fit the config in its card: {exc}") from exc
    return model.to(device).eval(), config, card


# --- training state -----------------------------------------------------------------------------------------


def save_training_state(path: str | Path, optimizer: torch.optim.Optimizer, info: dict) -> Path:
    """Optimiser tensors, param groups, the global torch RNG state and ``info`` (epoch, hashes) ->
    ``path``."""
    path = Path(path)
    state = optimizer.state_dict()
    tensors = {"rng.torch_cpu": torch.get_rng_state()}
    for index, slots in state["state"].items():
        for key, value in slots.items():
            tensors[f"opt.{index}.{key}"] = torch.as_tensor(value).detach().to("cpu").contiguous()
    metadata = {
        "format": STATE_FORMAT,
        "param_groups": json.dumps(state["param_groups"]),
        "info": json.dumps(info),
        "tensors_sha256": tensors_hash(tensors),
    }
    atomic_write_via_path(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    return path


def _match_parameter_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor its parameter's memory layout (e.g. channels-last).

    Files hold plain row-major tensors. The fused AdamW kernels walk a parameter and its moments as flat
    memory, so a channels-last weight with row-major moments would be updated with scrambled moments (a
    resumed run would silently diverge from an uninterrupted one).
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            slots = optimizer.state.get(param, {})
            for key, value in slots.items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    slots[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def load_training_state(path: str | Path, optimizer: torch.optim.Optimizer) -> dict:
    """Restore the optimiser and the global torch RNG from ``path``; returns the saved ``info``."""
    path = Path(path)
    tensors, metadata = _read(path)
    if metadata.get("format") != STATE_FORMAT:
        raise CheckpointError(path, f"not an elf training-state file (format {metadata.get('format')!r})")
    _check_hash(path, tensors, metadata.get("tensors_sha256"))
    try:
        param_groups = json.loads(metadata["param_groups"])
        info = json.loads(metadata["info"])
        slots: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("opt."):
                _, index, name = key.split(".", 2)
                slots.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict({"state": slots, "param_groups": param_groups})
        _match_parameter_layout(optimizer)
        torch.set_rng_state(tensors["rng.torch_cpu"])
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(path, f"training state does not fit this model/optimiser: {exc}") from exc
    return info


def training_card(path) -> dict:
    """The model card of a model file, with the history of the whole training run: a training folder's
    ``best.safetensors`` records the epochs up to the best one only, ``last.safetensors`` beside it all."""
    path = Path(path)
    card = read_card(path)
    last = path.with_name("last.safetensors")
    if path.name != last.name and last.is_file():
        try:
            history = read_card(last).get("history") or []
        except CheckpointError:
            history = []
        if len(history) > len(card.get("history") or []):
            card = {**card, "history": history}
    return card
