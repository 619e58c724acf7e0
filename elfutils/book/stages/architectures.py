"""The architecture comparison (Supplementary Note 2): a model per (trunk, latent channels), each trained
apart on the profile's images and scored by HDBSCAN of its fingerprints; committed results
(:data:`COMMITTED_ARCHITECTURE_STUDY`) stand in for hours of CPU training when made on the same images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.book.cache import (
    cached_stage,
    code_hash,
    memoised,
    now,
    record_timing,
    stage_key,
    write_parquet,
)
from elfutils.book.committed import CommittedArtefact, UnusableArtefact, shown
from elfutils.book.profiles import Profile, get_profile
from elfutils.book.stages import fingerprints, images, model
from elfutils.io import atomic_write_json, atomic_write_via_path
from elfutils.paths import cache_dir, committed_models_dir, default_device


def architecture_profile(profile: str | Profile = "default") -> Profile:
    """The profile whose images the architecture comparison trains on (``architecture_image_size``)."""
    p = get_profile(profile)
    size = p.architecture_image_size or p.image_size
    return p if size == p.image_size else p.replace(image_size=size)


def architecture_config(profile: str | Profile, backbone: str, latent_channels: int):
    """The ElfConfig of one variant: the profile's, with another trunk, latent channels and epoch budget."""
    import dataclasses as _dc

    p = get_profile(profile)
    return _dc.replace(architecture_profile(p).elf_config(), backbone=backbone,
                       latent_channels=int(latent_channels), epochs=p.architecture_epochs)


def architecture_model_key(profile: str | Profile, backbone: str, latent_channels: int) -> str:
    p = get_profile(profile)
    config = architecture_config(p, backbone, latent_channels)
    # "study" keeps these folders apart from the model stage's even when a config coincides
    return stage_key("model", {"study": "architectures", "config": config.to_dict(),
                               "data": images.image_data_hash(architecture_profile(p)),
                               "architecture": code_hash("nn.model")})


def architecture_model_file(profile: str | Profile, backbone: str, latent_channels: int) -> Path:
    """One variant's trained model file, training it into ``cache/models/<key>/`` first when needed (an
    interrupted training resumes). Logged as stage ``architecture-<backbone>-<side>x<side>x<channels>``."""
    from elfutils.nn.checkpoint import resolve_model_path

    p = get_profile(profile)
    ip = architecture_profile(p)
    config = architecture_config(p, backbone, latent_channels)
    key = architecture_model_key(p, backbone, latent_channels)
    out = cache_dir() / "models" / key
    done = out / "COMPLETE.json"

    def compute():
        stack, ids, _ = images.images(ip)
        model._train(stack, ids, config, out, ip.render_settings())
        atomic_write_json(done, {"key": key, "profile": p.name, "study": "architectures",
                                 "finished_at": now()})
        # a finished run is never resumed (another budget is another key): drop the optimiser state, twice the
        # size of the weights (~0.4 GB for resnet50)
        (out / "last-state.safetensors").unlink(missing_ok=True)
        return resolve_model_path(out)

    side = config.latent_side
    stage = f"architecture-{backbone}-{side}x{side}x{config.latent_channels}"
    return Path(cached_stage(stage, p, key, done.exists, lambda: resolve_model_path(out), compute))


def _architecture_scores(X: np.ndarray, profile: Profile) -> dict:
    """HDBSCAN with the profile's Nc, Ns, p on fingerprints X (N, d): n_clusters, n_unclassified, dbcv (with
    d = the fingerprint length; NaN with fewer than two clusters)."""
    from elfutils.analysis.cluster import FingerprintHDBSCAN
    from elfutils.analysis.validity import dbcv

    fitted = FingerprintHDBSCAN(profile.min_cluster_size, profile.min_samples, profile.minkowski_p,
                                n_features=None).fit(X)
    return {"n_clusters": fitted.n_clusters_, "n_unclassified": fitted.n_unclassified_,
            "dbcv": dbcv(fitted.distances_, fitted.labels_, d=X.shape[1])}


def _architecture_files(profile: Profile) -> dict[str, Path]:
    base = cache_dir() / "architectures" / architecture_study_key(profile)
    return {"summary": base / "summary.parquet", "history": base / "history.parquet"}


def architecture_study_key(profile: str | Profile = "default") -> str:
    p = get_profile(profile)
    return stage_key("architecture_study", {
        "images": images.images_key(architecture_profile(p)),
        "models": [architecture_model_key(p, b, c) for b, c in p.architecture_variants],
        "cluster": [p.min_cluster_size, p.min_samples, p.minkowski_p],
        "code": [code_hash("nn.training"), code_hash("analysis.cluster"), code_hash("analysis.validity")]})


# the committed results (models/<profile.committed_architecture_study>/): training five networks takes hours
# on a CPU, so the default profile reads them -- like the committed model -- when they were computed on the
# same images with the same settings; ``make models`` recomputes and exports them
ARCHITECTURE_STUDY_FILES = {"summary": "summary.csv", "history": "history.csv"}
ARCHITECTURE_STUDY_CARD = "study.json"


def architecture_study_identity(profile: str | Profile = "default") -> dict:
    """What the results of the architecture comparison depend on, besides code: the images' data hash, the
    variants, the training settings they share and the clustering settings they are scored with."""
    p = get_profile(profile)
    ap = architecture_profile(p)
    shared = architecture_config(p, *p.architecture_variants[0]).to_dict()
    for name in ("backbone", "latent_channels"):
        shared.pop(name)
    return {"data_hash": images.image_data_hash(ap), "variants": [list(v) for v in p.architecture_variants],
            "training": shared, "cluster": [p.min_cluster_size, p.min_samples, p.minkowski_p]}


def _architecture_card(folder: Path) -> tuple[Path, dict]:
    missing = [n for n in (ARCHITECTURE_STUDY_CARD, *ARCHITECTURE_STUDY_FILES.values())
               if not (folder / n).is_file()]
    if missing:
        raise UnusableArtefact(f"{shown(folder)} lacks {', '.join(missing)}")
    try:
        return folder, json.loads((folder / ARCHITECTURE_STUDY_CARD).read_text())
    except (OSError, ValueError) as exc:
        raise UnusableArtefact(f"{folder / ARCHITECTURE_STUDY_CARD}: unreadable ({exc})") from exc


def _export_architecture_study(p: Profile, target: Path) -> Path:
    """Compute (or reuse from the cache) the profile's architecture comparison and write summary.csv,
    history.csv and study.json (identity, device, date) into ``target``."""
    tables = _architecture_all(p)
    for name, file in ARCHITECTURE_STUDY_FILES.items():
        atomic_write_via_path(target / file, lambda tmp, df=tables[name]: df.to_csv(tmp, index=False))
    card = {**architecture_study_identity(p), "computed_with_profile": p.name, "device": default_device(),
            "exported_at": now()}
    atomic_write_json(target / ARCHITECTURE_STUDY_CARD, card)  # last: its presence marks a complete export
    return target


def _trained_on(card: dict) -> str:
    # the device matters to the reader: the training seconds in the results are that machine's
    device, date = card.get("device", "an unrecorded device"), str(card.get("exported_at", "no date"))[:10]
    return f" (trained on {device}, {date})"


COMMITTED_ARCHITECTURE_STUDY = CommittedArtefact(
    name="architecture study", location=lambda p: committed_models_dir() / p.committed_architecture_study,
    read=_architecture_card, identity=architecture_study_identity, make=_export_architecture_study,
    detail=_trained_on)


def architecture_study_source(profile: str | Profile = "default") -> str:
    """Where :func:`architecture_study` takes its results from (committed, cached or computed), in words."""
    committed, why = COMMITTED_ARCHITECTURE_STUDY.status(profile)
    return why if committed is not None else f"trained in this build or cached ({why})"


def architecture_study_device(profile: str | Profile = "default") -> str:
    """The device whose pace the study's training seconds measure: the committed card's, or this machine's."""
    committed, _ = COMMITTED_ARCHITECTURE_STUDY.status(profile)
    if committed is None:
        return default_device()
    card = json.loads((committed / ARCHITECTURE_STUDY_CARD).read_text())
    return str(card.get("device", "an unrecorded device"))


def _architecture_all(profile: str | Profile) -> dict[str, pd.DataFrame]:
    p = get_profile(profile)
    committed, source = COMMITTED_ARCHITECTURE_STUDY.status(p)
    if committed is not None:
        def read() -> dict[str, pd.DataFrame]:
            tables = {name: pd.read_csv(committed / file) for name, file in ARCHITECTURE_STUDY_FILES.items()}
            record_timing("stages", f"{p.name}/architecture_study", {
                "profile": p.name, "stage": "architecture_study", "key": str(committed.name),
                "last_use": "committed", "used_at": now(),
                "seconds": float(tables["summary"]["train_seconds"].sum()),
                "note": f"training time of the {source}"})
            return tables

        return memoised((str(committed), "architecture_study"), read)
    key = architecture_study_key(p)
    files = _architecture_files(p)

    def compute():
        stack, _, _ = images.images(architecture_profile(p))
        rows, histories = [], []
        for backbone, channels in p.architecture_variants:
            config = architecture_config(p, backbone, channels)
            net, _, card = model._load_model(architecture_model_file(p, backbone, channels))
            history = pd.DataFrame(card.get("history", []))
            last = history.iloc[-1] if len(history) else {}
            side = config.latent_side
            variant = {"variant": f"{backbone} {side}×{side}×{channels}", "backbone": backbone,
                       "latent_channels": channels, "latent_side": side}
            rows.append({
                **variant, "fingerprint_length": config.fingerprint_length,
                "n_parameters": int(sum(t.numel() for t in net.parameters())),
                "epochs": config.epochs, "image_size": config.image_size, "n_images": len(stack),
                **{k: float(last[k]) if k in last and last[k] is not None else np.nan
                   for k in ("train_bce", "val_bce", "val_bce_clean")},
                "train_seconds": float(history["seconds"].sum()) if "seconds" in history else np.nan,
                **_architecture_scores(fingerprints._encode(net, stack), p)})
            histories.append(history.assign(**variant))
        summary, history = pd.DataFrame(rows), pd.concat(histories, ignore_index=True)
        write_parquet(history, files["history"])
        write_parquet(summary, files["summary"])  # last: its presence marks a complete entry
        return {"summary": summary, "history": history}

    return cached_stage("architecture_study", p, key, files["summary"].exists,
                         lambda: {name: pd.read_parquet(path) for name, path in files.items()}, compute,
                         n_items=lambda v: len(v["summary"]))


def architecture_study(profile: str | Profile = "default") -> pd.DataFrame:
    """Supplementary Note 2: one row per (backbone, latent channels) of ``profile.architecture_variants``,
    each trained ``architecture_epochs`` epochs on the profile's images (at ``architecture_image_size``):
    variant, backbone, latent_channels, latent_side, fingerprint_length, n_parameters, epochs, image_size,
    n_images, train_bce, val_bce, val_bce_clean (last epoch), train_seconds, and HDBSCAN of its fingerprints
    with the profile's Nc, Ns, p: n_clusters, n_unclassified, dbcv."""
    return _architecture_all(profile)["summary"].copy()


def architecture_history(profile: str | Profile = "default") -> pd.DataFrame:
    """Per-epoch losses of every variant of :func:`architecture_study` (history columns + variant ones)."""
    return _architecture_all(profile)["history"].copy()
