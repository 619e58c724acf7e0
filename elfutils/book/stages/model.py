"""The model stage: the profile's trained autoencoder -- the committed model in
``models/<profile.committed_model>/`` (:data:`COMMITTED_MODEL`) when it has the profile's architecture and
its card's data hash is the images' hash, otherwise trained into the cache (resuming an interrupted run)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.book import profiles
from elfutils.book.cache import (
    cached_stage,
    code_hash,
    file_hash,
    hash_json,
    memoised,
    now,
    record_timing,
    stage_key,
)
from elfutils.book.committed import CommittedArtefact, UnusableArtefact, shown
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import images
from elfutils.io import atomic_write_json
from elfutils.paths import cache_dir, committed_models_dir, default_device


def model_profile(profile: str | Profile) -> Profile:
    """The profile whose model encodes this profile's images: its ``model_from``, else itself."""
    p = get_profile(profile)
    return get_profile(p.model_from) if p.model_from else p


ARCHITECTURE_FIELDS = ("backbone", "image_size", "in_channels", "latent_channels")


def committed_card(folder: Path) -> tuple[Path, dict]:
    """(model file, card) of a committed model folder. The card is read once per file content and kept in
    the cache under the file's sha256: reading it imports torch and torchvision (about 2 s on a 2-core CPU),
    which a search whose query fingerprint is cached (``elf similar``) otherwise never needs.
    :class:`~elfutils.book.committed.UnusableArtefact` when there is no model or its card is unusable."""
    path = folder / COMMITTED_MODEL_FILE
    if path.is_file():
        try:
            return path, json.loads(_kept_card(path).read_text())
        except (OSError, ValueError):
            pass  # not kept yet, or damaged: read from the model file
    from elfutils.nn.checkpoint import CheckpointError, read_card, resolve_model_path

    try:
        path = resolve_model_path(folder)
        card = read_card(path)  # checked as every card is; only a card that passed is kept
    except CheckpointError as exc:
        raise UnusableArtefact(str(exc)) from exc
    try:
        atomic_write_json(_kept_card(path), card)
    except OSError:
        pass  # a read-only cache: read the card again next time
    return path, card


def _kept_card(model_file: Path) -> Path:
    # the card reader's code too: a card kept by an older reader has not passed the current checks
    return cache_dir() / "model-cards" / f"{file_hash(model_file)[:32]}-{code_hash('nn.checkpoint')}.json"


def _model_card(folder: Path) -> tuple[Path, dict]:
    path, card = committed_card(folder)
    config = card.get("config", {})
    return path, {**card, "architecture": {f: config.get(f) for f in ARCHITECTURE_FIELDS}}


def _model_identity_wanted(p: Profile) -> dict:
    """What the profile's model must be: its architecture and the data hash of its images. Kept in the cache
    under everything it is worked out from (the profile, the config's code, the images' key, the committed
    file): building the config imports torch (ElfConfig lives beside the network), which a search that
    only reads the committed model's fingerprints otherwise never needs."""
    folder = COMMITTED_MODEL.location(p)
    committed = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    key = hash_json({"profile": dataclasses.asdict(p), "images": images.images_key(p),
                     # ElfConfig (nn.model), how a profile builds it (profiles.py), the files it is read from
                     "config_code": [code_hash("nn.model"), file_hash(Path(profiles.__file__))],
                     "committed": [[f.name, file_hash(f)] for f in committed]})
    kept = cache_dir() / "model-identity" / f"{key[:24]}.json"
    try:
        return json.loads(kept.read_text())
    except (OSError, ValueError):
        pass  # not worked out yet, or damaged
    config = p.elf_config().to_dict()
    wanted = {"architecture": {f: config.get(f) for f in ARCHITECTURE_FIELDS},
              "data_hash": _wanted_data_hash(p)}
    try:
        atomic_write_json(kept, wanted)
    except OSError:
        pass  # a read-only cache: worked out again next time
    return wanted


def _wanted_data_hash(p: Profile) -> str:
    """The data hash a model of the profile must have been trained on, without rendering when the committed
    card records the images' key: the same key (the same data, render settings and render code) means the
    same images, whose data hash the card holds. Anything else renders the images and hashes them."""
    try:
        _, card = committed_card(COMMITTED_MODEL.location(p))
    except UnusableArtefact:
        return images.image_data_hash(p)
    if card.get("images_key") == images.images_key(p) and card.get("data_hash"):
        return card["data_hash"]
    return images.image_data_hash(p)


def _export_model(p: Profile, folder: Path) -> Path:
    """Train (or reuse from the cache) the profile's model and write it, float16, as
    ``folder/best.safetensors``; ValueError when the file would exceed COMMITTED_MODEL_MAX_BYTES."""
    from elfutils.nn.checkpoint import export_model, training_card

    source, _ = model_file(p)
    target = folder / COMMITTED_MODEL_FILE
    # best.safetensors' card records the epochs up to the best one; the book plots the whole run
    export_model(source, target, dtype="float16", card_updates={"history": training_card(source)["history"],
                                                                "images_key": images.images_key(p)})
    size = target.stat().st_size
    if size > COMMITTED_MODEL_MAX_BYTES:
        raise ValueError(f"{target}: {size / 2**20:.1f} MiB, over the "
                         f"{COMMITTED_MODEL_MAX_BYTES / 2**20:.0f} MiB a committed model may take")
    return target


COMMITTED_MODEL_FILE = "best.safetensors"  # resolve_model_path finds it in the committed folder
COMMITTED_MODEL_MAX_BYTES = 50 * 2**20  # what a repository can carry comfortably

# models/<profile.committed_model>/: stands in for training when it has the profile's architecture and was
# trained on exactly the profile's images (``make models`` remakes it)
COMMITTED_MODEL = CommittedArtefact(
    name="model", location=lambda p: committed_models_dir() / p.committed_model, read=_model_card,
    identity=_model_identity_wanted, make=_export_model, profile_of=model_profile)


def _train(images_: np.ndarray, ids: list[str], config, out_dir: Path, settings=None) -> None:
    """Seam for tests: train into ``out_dir`` with elfutils.nn.training.train, resuming an interrupted run
    there.

    No progress output: in a notebook it would land in the book; the per-epoch history is in the model card.
    """
    from elfutils.nn.training import train

    train(images_, config, out_dir, resume=True, ids=ids, progress=False, render_settings=settings)


def _load_model(path: Path):
    """Seam for tests: (model, config, card) from a model file or training folder."""
    from elfutils.nn.checkpoint import load_model

    return load_model(path, device=default_device())


def model_key(profile: str | Profile = "default") -> str:
    p = model_profile(profile)
    return stage_key("model", {"config": p.elf_config().to_dict(), "data": images.image_data_hash(p),
                               "architecture": code_hash("nn.model")})


def model_file(profile: str | Profile = "default") -> tuple[Path, str]:
    """(model file, source) for the profile, training into the cache first when needed.

    ``source`` says where it came from: the committed model, or the cache folder (and whether it was trained
    in this call).
    """
    from elfutils.nn.checkpoint import resolve_model_path

    p = model_profile(profile)
    committed, why = COMMITTED_MODEL.status(p)
    if committed is not None:
        card_seconds = _card_seconds(committed)
        record_timing("stages", f"{p.name}/model", {
            "profile": p.name, "stage": "model", "key": "committed", "last_use": "committed",
            "used_at": now(), "seconds": card_seconds,
            "note": "training time from the committed model card"})
        return committed, why
    key = model_key(p)
    out = cache_dir() / "models" / key
    done = out / "COMPLETE.json"

    def compute():
        stack, ids, _ = images.images(p)
        _train(stack, ids, p.elf_config(), out, p.render_settings())
        atomic_write_json(done, {"key": key, "profile": p.name, "finished_at": now()})
        return resolve_model_path(out)

    path = cached_stage("model", p, key, done.exists, lambda: resolve_model_path(out), compute)
    return Path(path), f"trained into the cache ({why})"


def trained_model_file(profile: str | Profile = "default") -> tuple[Path | None, str]:
    """(model file, why) like :func:`model_file`, but never trains: the committed model, else a finished
    training run in the cache, else (None, what is missing)."""
    p = model_profile(profile)
    committed, why = COMMITTED_MODEL.status(p)
    if committed is not None:
        return committed, why
    out = cache_dir() / "models" / model_key(p)
    if (out / "COMPLETE.json").exists():
        from elfutils.nn.checkpoint import resolve_model_path

        return resolve_model_path(out), f"trained into the cache ({why})"
    return None, f"no trained model for profile {p.name!r}: {why}, and none trained in {shown(cache_dir())}"


def _card_seconds(path: Path) -> float | None:
    """Training time of the model file's whole run (checkpoint.training_card: last.safetensors's history
    where a
    training folder's best.safetensors stops at the best epoch)."""
    from elfutils.nn.checkpoint import training_card

    return card_training_seconds(training_card(path))


def card_training_seconds(card: dict) -> float | None:
    """Training wall time recorded in a model card: an explicit total, else the sum of the per-epoch
    seconds of its history (None when neither is recorded)."""
    for k in ("wall_time_s", "train_seconds", "wall_time"):
        if isinstance(card.get(k), int | float):
            return float(card[k])
    seconds = [row.get("seconds") for row in card.get("history") or []]
    if seconds and all(isinstance(s, int | float) for s in seconds):
        return float(sum(seconds))
    return None


def model(profile: str | Profile = "default"):
    """The profile's trained autoencoder: (model in eval mode, ElfConfig, model card).

    The card gains ``pipeline_source`` (committed model or cache) and ``pipeline_file``.
    """
    path, source = model_file(profile)

    def load():
        net, config, card = _load_model(path)
        return net, config, {**card, "pipeline_source": source, "pipeline_file": str(path)}

    return memoised(("model", str(path), file_hash(path)), load)


def model_summary(profile: str | Profile = "default") -> dict:
    """Which model the profile uses, without training one: source ("committed", "trained into the cache" or
    "not built yet"), file, why, and the scalar fields of its model card (epochs, wall time, device ...)."""
    from elfutils.nn.checkpoint import CheckpointError, read_card, resolve_model_path

    p = model_profile(profile)
    committed, why = COMMITTED_MODEL.status(p)
    path, source = committed, "committed"
    trained = cache_dir() / "models" / model_key(p)
    if path is None:
        source = "not built yet"
        if (trained / "COMPLETE.json").exists():
            path, source = resolve_model_path(trained), "trained into the cache"
    out = {"source": source, "file": str(path) if path else "", "why": why}
    if path is not None:
        try:
            card = read_card(path)
        except CheckpointError as exc:
            return {**out, "why": str(exc)}
        out.update({k: v for k, v in card.items() if isinstance(v, str | int | float) and k != "format"})
        out["training_seconds"] = _card_seconds(path)
    return out


def model_history(profile: str | Profile = "default") -> pd.DataFrame:
    """Per-epoch history of the profile's model: epoch, train_bce, val_bce (noised inputs), val_bce_clean, lr,
    seconds. From the model card; for a training folder's best.safetensors, from last.safetensors beside it,
    which carries every epoch (best.safetensors stops at the best one)."""
    from elfutils.nn.checkpoint import training_card

    path, _ = model_file(profile)
    return pd.DataFrame(training_card(path).get("history") or [])
