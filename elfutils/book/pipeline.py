"""The book's expensive stages, cached on disk and keyed by everything they depend on.

    load_dataset -> images -> model -> fingerprints -> clustering (+ cluster tree, exemplars)
                                                     -> parameter_study, tsne
    structural_fingerprints (CNNF of the flat-band sublattices; independent of the network)
    images -> architecture_study (Supplementary Note 2: a model per trunk / latent size, trained apart)

Every stage takes a :class:`~elfutils.book.profiles.Profile` (or its name). A stage's cache key is a hash of

* its inputs' keys -- the dataset's content hash (the band energies, k-points and labels of the selected
  materials, so compacting the store or adding unrelated materials changes nothing), the images' data hash,
  the model's weights hash ...,
* its own settings from the profile (render parameters, the model config, the clustering parameters),
* the source of the elfutils module that computes it (``render``, ``training``, ``cluster`` ...),

so a changed dataset or config recomputes exactly the stages downstream of the change, and a second
``make book`` reuses everything. Results live under ``elfutils.paths.cache_dir()/<stage>/<key>.*`` and are
written atomically (temporary file + ``os.replace``); a per-key file lock makes notebooks executed in
parallel (``make -j``) wait for one computation instead of repeating it. Each stage appends its wall time to
``cache_dir()/timings.json`` (:func:`read_timings`), which the reproducibility chapter shows.

The engine -- keys, disk cache, locks, memory, timings, committed results -- is :mod:`elfutils.book.cache`;
this module holds the stages.

The model stage prefers the trained model committed in ``models/<profile.committed_model>/``
(:data:`COMMITTED_MODEL`, one of the :class:`~elfutils.book.committed.CommittedArtefact` s with the
architecture study and the CNNF rows) when the profile allows it and the model card's data hash equals the
images' hash; otherwise it trains (resuming an interrupted run) into the cache.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from elfutils.book.cache import (  # noqa: F401 (the engine's names, as stages and chapters use them)
    CACHE_FORMAT,
    COMMITTED_RESULTS,
    MEMORY,
    TIMINGS_FILE,
    cached_stage,
    clear_memory,
    code_hash,
    committed_results_dir,
    copy_committed,
    file_hash,
    hash_json,
    locked,
    memoised,
    now,
    read_timings,
    record_timing,
    stage_key,
    timings_table,
    write_parquet,
)
from elfutils.book.committed import CommittedArtefact, UnusableArtefact, shown
from elfutils.book.profiles import Profile, get_profile
from elfutils.data.bands import BandStructure
from elfutils.io import atomic_write_bytes, atomic_write_json, atomic_write_via_path
from elfutils.paths import cache_dir, committed_models_dir, default_device


# --- small helpers -----------------------------------------------------------------------------------------
def model_profile(profile: str | Profile) -> Profile:
    """The profile whose model encodes this profile's images: its ``model_from``, else itself."""
    p = _profile(profile)
    return _profile(p.model_from) if p.model_from else p


def _profile(profile: str | Profile) -> Profile:
    return get_profile(profile)


# --- dataset -----------------------------------------------------------------------------------------------
class MissingStoreError(FileNotFoundError):
    """The profile's band store is missing or empty; the message says how to build it."""


def require_store(profile: str | Profile) -> None:
    """Raise :class:`MissingStoreError` when the profile's band store is missing or empty: without it every
    stage would run on zero materials and fail far from the cause. Cheap (lists the parts, reads none)."""
    from elfutils.data.store import BandStore

    p = _profile(profile)
    if not any(BandStore(path).part_paths() for path in p.store_paths()):
        raise MissingStoreError(p.missing_store_message())


def _read_dataset(profile: Profile) -> list[BandStructure]:
    """The profile's materials: the 12 real band files first (if asked), then each store in id order."""
    from elfutils.data.store import BandStore

    require_store(profile)
    records: list[BandStructure] = []
    if profile.include_fixture_files:
        from elfutils.data.dataset import real_band_files
        from elfutils.data.readers import read_band_file

        records = [read_band_file(p) for p in real_band_files()]
    seen = {r.material_id for r in records}
    for path in profile.store_paths():
        store = BandStore(path)
        for mid in store.ids():
            if profile.max_materials is not None and len(records) >= profile.max_materials:
                break
            if mid not in seen:
                records.append(store.get(mid))
                seen.add(mid)
    if profile.max_materials is not None:
        records = records[: profile.max_materials]
    return records


def dataset_hash(records: list[BandStructure]) -> str:
    """Content hash of band records (ids, formulas, E_F, k-points, branches, energies); metadata excluded."""
    digest = hashlib.sha256()
    for bs in records:
        digest.update(f"{bs.material_id}\n{bs.formula}\n{bs.efermi!r}\n".encode())
        digest.update(repr([(b.start, b.end, b.start_label, b.end_label) for b in bs.branches]).encode())
        for arr in (bs.kpoints, bs.distances, bs.energies):
            digest.update(str(arr.shape).encode())
            digest.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _dataset_selection(profile: Profile) -> str:
    """What selects a profile's materials (its stores, cap and fixture files), not their content."""
    return hash_json([profile.store_paths(), profile.max_materials, profile.include_fixture_files])


def _dataset(profile: Profile, attempts: int = 5) -> tuple[list[BandStructure], str]:
    """(records, content hash), read once per process: a DFT batch appending to a store while a chapter runs
    (a material a minute) would otherwise change the data under every later stage of the chapter, which then
    recompute without end; its new materials come with the next process (or :func:`clear_memory`). The batch
    may also merge the store's parts while we read (its compaction deletes the small parts it merged): a
    vanished part means "read again"."""
    from elfutils.errors import BandDataError

    for attempt in range(attempts):
        try:
            return _dataset_once(profile)
        except MissingStoreError:
            raise  # reading again will not build it
        except (FileNotFoundError, BandDataError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _dataset_once(profile: Profile) -> tuple[list[BandStructure], str]:
    def read() -> tuple[list[BandStructure], str]:
        start = time.perf_counter()
        records = _read_dataset(profile)
        digest = dataset_hash(records)
        record_timing("stages", f"{profile.name}/dataset", {
            "profile": profile.name, "stage": "dataset", "key": digest[:16],
            "seconds": round(time.perf_counter() - start, 3), "computed_at": now(), "last_use": "computed",
            "n_items": len(records)})
        return records, digest

    return memoised(("dataset", _dataset_selection(profile)), read)


def load_dataset(profile: str | Profile = "default") -> list[BandStructure]:
    """The profile's band structures (read from the stores once per process; fast). A store that changed
    between the key this process used (:func:`data_key`) and the reading is an error, never a result filed
    under the old key."""
    p = _profile(profile)
    records, digest = _dataset(p)
    keyed = MEMORY.get(("data_key", _dataset_selection(p)))
    if keyed is not None and keyed != digest:
        raise RuntimeError(f"profile {p.name!r}: its band stores changed while this process used them "
                           "(a batch writing?); run again")
    return records


DATASET_KEYS_FILE = "dataset-keys.json"  # {files signature: content hash}, in the cache and committed


def files_signature(profile: str | Profile) -> str:
    """sha256 over what the profile's materials are read from, byte for byte: the selection, every part of
    its stores and the fixture files it includes (about 0.1 s for the atlas's 26 MB; nothing decoded)."""
    from elfutils.data.store import BandStore

    p = _profile(profile)
    files = [part for path in p.store_paths() for part in BandStore(path).part_paths()]
    if p.include_fixture_files:
        from elfutils.data.dataset import real_band_files

        files += list(real_band_files())
    return hash_json([_dataset_selection(p), [[f.name, file_hash(f)] for f in files]])


def _known_dataset_keys() -> dict[str, str]:
    """Content hashes already worked out, by files signature: this cache's, then the committed ones."""
    from elfutils.book.cache import committed_manifest

    known: dict[str, str] = {}
    committed = committed_results_dir() / DATASET_KEYS_FILE
    for path in (committed, cache_dir() / DATASET_KEYS_FILE):
        checked = committed_manifest().get(DATASET_KEYS_FILE) if path == committed else None
        if path == committed and path.is_file() and checked != file_hash(path):
            continue  # damaged or edited: the content is hashed again instead
        try:
            known.update(json.loads(path.read_text()))
        except (FileNotFoundError, json.JSONDecodeError, TypeError, ValueError):
            pass
    return known


def remember_dataset_key(profile: str | Profile, path: Path | None = None) -> dict[str, str]:
    """Record the profile's files signature -> content hash in ``path`` (default the cache's map; the
    committed results' map when committing them)."""
    p = _profile(profile)
    path = path or cache_dir() / DATASET_KEYS_FILE
    with locked("dataset-keys"):
        try:
            known = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            known = {}
        known[files_signature(p)] = _dataset(p)[1]
        atomic_write_json(path, known)
    return known


def data_key(profile: str | Profile = "default") -> str:
    """The dataset's content hash (sha256 hex) for this profile: looked up by the files' signature when it
    was worked out before (in this cache or committed), so a key never decodes the whole dataset twice;
    the content hash keeps compacting a store or adding unrelated materials from changing any key."""
    p = _profile(profile)

    def key() -> str:
        if ("dataset", _dataset_selection(p)) not in MEMORY:  # records already read: their hash is at hand
            known = _known_dataset_keys().get(files_signature(p))
            if known is not None:
                return known
        remember_dataset_key(p)
        return _dataset(p)[1]

    return memoised(("data_key", _dataset_selection(p)), key)


# --- images ------------------------------------------------------------------------------------------------
def _render(records, params: dict, skipped: list):
    """Seam for tests: render the records (elfutils.images.render.render_many)."""
    from elfutils.images.render import render_many

    return render_many(records, progress=False, skipped=skipped, **params)


def images_key(profile: str | Profile = "default") -> str:
    p = _profile(profile)
    return stage_key("images", {"data": data_key(p), "render": p.render_params(),
                                "code": code_hash("images.render")})


def images(profile: str | Profile = "default") -> tuple[np.ndarray, list[str], list[str]]:
    """Binary band images of the profile's materials: (uint8 (N, S, S) 0/1, ids, formulas).

    Materials that cannot be rendered (no band within the window) are left out; :func:`skipped_images`
    lists them with the reason.
    """
    from elfutils.images.stack import load_image_stack, save_image_stack

    p = _profile(profile)
    key = images_key(p)
    path = cache_dir() / "images" / f"{key}.npz"

    def compute():
        skipped: list = []
        stack, ids, formulas = _render(load_dataset(p), p.render_params(), skipped)
        atomic_write_json(path.with_suffix(".skipped.json"), [list(s) for s in skipped])
        save_image_stack(path, stack, ids, formulas, settings=p.render_settings())
        return stack, list(ids), list(formulas)

    return cached_stage("images", p, key, path.exists, lambda: load_image_stack(path), compute,
                         n_items=lambda v: len(v[1]))


def skipped_images(profile: str | Profile = "default") -> list[tuple[str, str]]:
    """(material id, reason) of the materials :func:`images` could not render."""
    images(profile)
    path = cache_dir() / "images" / f"{images_key(profile)}.skipped.json"
    return [tuple(s) for s in json.loads(path.read_text())] if path.exists() else []


def image_data_hash(profile: str | Profile = "default") -> str:
    """The images' data hash as model cards record it (:func:`elfutils.nn.checkpoint.data_hash`)."""
    from elfutils.nn.checkpoint import data_hash

    p = _profile(profile)

    def digest() -> str:
        stack, ids, _ = images(p)
        return data_hash(np.packbits(stack, axis=-1), ids)

    return memoised(("image_data_hash", str(cache_dir()), images_key(p)), digest)


# --- model -------------------------------------------------------------------------------------------------
ARCHITECTURE_FIELDS = ("backbone", "image_size", "in_channels", "latent_channels")


def _model_card(folder: Path) -> tuple[Path, dict]:
    from elfutils.nn.checkpoint import CheckpointError, read_card, resolve_model_path

    try:
        path = resolve_model_path(folder)
        card = read_card(path)
    except CheckpointError as exc:
        raise UnusableArtefact(str(exc)) from exc
    config = card.get("config", {})
    return path, {**card, "architecture": {f: config.get(f) for f in ARCHITECTURE_FIELDS}}


def _model_identity_wanted(p: Profile) -> dict:
    config = p.elf_config().to_dict()
    return {"architecture": {f: config.get(f) for f in ARCHITECTURE_FIELDS},
            "data_hash": _wanted_data_hash(p)}


def _wanted_data_hash(p: Profile) -> str:
    """The data hash a model of the profile must have been trained on, without rendering when the committed
    card records the images' key: the same key (the same data, render settings and render code) means the
    same images, whose data hash the card holds. Anything else renders the images and hashes them."""
    from elfutils.nn.checkpoint import CheckpointError, read_card, resolve_model_path

    try:
        card = read_card(resolve_model_path(COMMITTED_MODEL.location(p)))
    except CheckpointError:
        return image_data_hash(p)
    if card.get("images_key") == images_key(p) and card.get("data_hash"):
        return card["data_hash"]
    return image_data_hash(p)


def _export_model(p: Profile, folder: Path) -> Path:
    """Train (or reuse from the cache) the profile's model and write it, float16, as
    ``folder/best.safetensors``; ValueError when the file would exceed COMMITTED_MODEL_MAX_BYTES."""
    from elfutils.nn.checkpoint import export_model, training_card

    source, _ = model_file(p)
    target = folder / COMMITTED_MODEL_FILE
    # best.safetensors' card records the epochs up to the best one; the book plots the whole run
    export_model(source, target, dtype="float16", card_updates={"history": training_card(source)["history"],
                                                                "images_key": images_key(p)})
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
    return stage_key("model", {"config": p.elf_config().to_dict(), "data": image_data_hash(p),
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
        stack, ids, _ = images(p)
        _train(stack, ids, p.elf_config(), out, p.render_settings())
        atomic_write_json(done, {"key": key, "profile": p.name, "finished_at": now()})
        return resolve_model_path(out)

    path = cached_stage("model", p, key, done.exists, lambda: resolve_model_path(out), compute)
    return Path(path), f"trained into the cache ({why})"


def trained_model_file(profile: str | Profile = "default") -> tuple[Path | None, str]:
    """(model file, why) like :func:`model_file`, but never trains: the committed model, else a finished
    training run in the cache, else (None, what is missing)."""
    from elfutils.nn.checkpoint import resolve_model_path

    p = model_profile(profile)
    committed, why = COMMITTED_MODEL.status(p)
    if committed is not None:
        return committed, why
    out = cache_dir() / "models" / model_key(p)
    if (out / "COMPLETE.json").exists():
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


# --- fingerprints ------------------------------------------------------------------------------------------
def _encode(net, images_: np.ndarray) -> np.ndarray:
    """Seam for tests: (N, 98) fingerprints of images (elfutils.nn.training.encode_images)."""
    from elfutils.nn.training import encode_images

    return np.asarray(encode_images(net, images_), dtype=np.float64)


def model_identity(profile: str | Profile) -> dict:
    """What identifies the weights without training them: the committed file's hash, else the model key."""
    profile = model_profile(profile)
    committed, _ = COMMITTED_MODEL.status(profile)
    return {"committed": file_hash(committed)} if committed is not None else {"trained": model_key(profile)}


def fingerprints_key(profile: str | Profile = "default") -> str:
    p = _profile(profile)
    return stage_key("fingerprints", {"model": model_identity(p), "images": images_key(p),
                                      "code": code_hash("nn.training")})


def fingerprints(profile: str | Profile = "default") -> pd.DataFrame:
    """The fingerprint table: material_id, formula, f0..f97 (one row per image)."""
    from elfutils.analysis.fingerprints import make_table, read_fingerprints, write_fingerprints

    p = _profile(profile)
    key = fingerprints_key(p)
    [path] = fingerprints_files(p)

    def compute():
        stack, ids, formulas = images(p)
        net, _, _ = model(p)
        table = make_table(ids, formulas, _encode(net, stack))
        write_fingerprints(table, path)
        return table

    return cached_stage("fingerprints", p, key, path.exists, lambda: read_fingerprints(path), compute,
                         n_items=len, files=[path]).copy()


def fingerprints_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "fingerprints" / f"{fingerprints_key(profile)}.parquet"]


# --- clustering --------------------------------------------------------------------------------------------
def _fit_clustering(table: pd.DataFrame, params: dict) -> dict:
    """Seam for tests: elfutils.analysis.cluster.fit_pipeline and the tables derived from the fitted model.

    Returns {"table", "tree", "exemplars", "fitted"}.
    """
    from elfutils.analysis.cluster import cluster_tree_table, exemplar_table, fit_pipeline

    clusters, fitted = fit_pipeline(table, return_model=True, **params)
    return {"table": clusters, "tree": cluster_tree_table(fitted),
            "exemplars": exemplar_table(fitted, fitted.material_ids_, fitted.formulas_), "fitted": fitted}


def clustering_key(profile: str | Profile = "default") -> str:
    p = _profile(profile)
    return stage_key("clustering", {"fingerprints": fingerprints_key(p), "params": p.cluster_params(),
                                    "code": code_hash("analysis.cluster")})


def _clustering_files(profile: Profile) -> dict[str, Path]:
    base = cache_dir() / "clustering" / clustering_key(profile)
    return {"table": base / "clusters.parquet", "tree": base / "tree.parquet",
            "exemplars": base / "exemplars.parquet", "attrs": base / "attrs.json"}  # attrs last: the marker


def clustering_files(profile: str | Profile = "default") -> list[Path]:
    return list(_clustering_files(_profile(profile)).values())


def _clustering_all(profile: str | Profile) -> dict[str, object]:
    p = _profile(profile)
    key = clustering_key(p)
    files = _clustering_files(p)

    def load():
        out = {name: pd.read_parquet(files[name]) for name in ("table", "tree", "exemplars")}
        out["table"].attrs.update(json.loads(files["attrs"].read_text()))
        return out

    def compute():
        fit = _fit_clustering(fingerprints(p), p.cluster_params())
        MEMORY[("hdbscan", str(cache_dir()), key)] = fit["fitted"]
        for name in ("tree", "exemplars", "table"):
            write_parquet(fit[name], files[name])
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in fit["table"].attrs.items()}
        atomic_write_json(files["attrs"], attrs)  # last: its presence marks a complete entry
        return {name: fit[name] for name in ("table", "tree", "exemplars")}

    return cached_stage("clustering", p, key, files["attrs"].exists, load, compute,
                         n_items=lambda v: len(v["table"]), files=list(files.values()))


def clustering(profile: str | Profile = "default") -> pd.DataFrame:
    """HDBSCAN -> UMAP -> DBSCAN (Fig. 2): material_id, formula, hdbscan_label, probability, umap_x, umap_y,
    dbscan_group; ``attrs``: dbscan_eps, n_clusters, n_unclassified."""
    table = _clustering_all(profile)["table"]
    out = table.copy()
    out.attrs = dict(table.attrs)
    return out


def cluster_tree(profile: str | Profile = "default") -> pd.DataFrame:
    """The condensed tree (:func:`elfutils.analysis.cluster.cluster_tree_table`; Fig. 2a)."""
    return _clustering_all(profile)["tree"].copy()


def exemplars(profile: str | Profile = "default") -> pd.DataFrame:
    """Every cluster's members by membership probability (:func:`elfutils.analysis.cluster.exemplar_table`;
    Fig. 3)."""
    return _clustering_all(profile)["exemplars"].copy()


def hdbscan_model(profile: str | Profile = "default"):
    """The fitted :class:`elfutils.analysis.cluster.FingerprintHDBSCAN` (refitted in-process when the table
    came from
    the disk cache: seconds; needed for ``predict`` in the similarity search)."""
    from elfutils.analysis.cluster import FingerprintHDBSCAN

    p = _profile(profile)
    _clustering_all(p)
    return memoised(("hdbscan", str(cache_dir()), clustering_key(p)), lambda: FingerprintHDBSCAN(
        p.min_cluster_size, p.min_samples, p.minkowski_p).fit(fingerprints(p)))


# --- parameter study, t-SNE ---------------------------------------------------------------------------------
def _run_parameter_study(table: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Seam for tests: elfutils.analysis.validity.parameter_study over the profile's grid."""
    from elfutils.analysis.validity import parameter_study as study

    return study(table, profile.study_min_cluster_sizes, profile.study_min_samples, p=profile.minkowski_p,
                 progress=False)


def parameter_study(profile: str | Profile = "default") -> pd.DataFrame:
    """Fig. 7: one row per (Nc, Ns) with n_clusters, n_unclassified, dbcv, s_dbw."""
    p = _profile(profile)
    key = parameter_study_key(p)
    [path] = parameter_study_files(p)

    def compute():
        df = _run_parameter_study(fingerprints(p), p)
        write_parquet(df, path)
        return df

    return cached_stage("parameter_study", p, key, path.exists, lambda: pd.read_parquet(path), compute,
                         n_items=len, files=[path]).copy()


def parameter_study_key(profile: str | Profile = "default") -> str:
    p = _profile(profile)
    return stage_key("parameter_study", {
        "fingerprints": fingerprints_key(p), "nc": p.study_min_cluster_sizes, "ns": p.study_min_samples,
        "p": p.minkowski_p, "code": [code_hash("analysis.validity"), code_hash("analysis.cluster")]})


def parameter_study_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "parameter_study" / f"{parameter_study_key(profile)}.parquet"]


def bond_geometry_key(profile: str | Profile = "default") -> str:
    from elfutils.data.dataset import STRUCTURES_FILE
    from elfutils.paths import data_dir

    p = _profile(profile)
    return stage_key("bond_geometry", {"data": data_key(p),
                                       "structures": file_hash(data_dir() / STRUCTURES_FILE),
                                       "code": [code_hash("analysis.structure"), code_hash("dft.recipe")]})


def bond_geometry_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "bond_geometry" / f"{bond_geometry_key(profile)}.parquet"]


def bond_geometry(profile: str | Profile = "default") -> pd.DataFrame:
    """Fig. 4's survey: the in-plane bond geometry (:func:`elfutils.analysis.structure.bond_geometry`) of
    every material of the profile whose 2Dmatpedia structure we hold, indexed by material id (about 90 s for
    the 1950 flat-band materials: committed, so a first build reads it)."""
    from elfutils.analysis.structure import bond_geometry as geometry
    from elfutils.data.dataset import structure_records
    from elfutils.dft.recipe import structure_from_record

    p = _profile(profile)
    [path] = bond_geometry_files(p)

    def compute():
        records = structure_records()
        ids = [bs.material_id for bs in load_dataset(p) if bs.material_id in records]
        table = geometry({m: structure_from_record(records[m]) for m in ids})
        write_parquet(table.reset_index(), path)
        return table

    def load():
        table = pd.read_parquet(path)
        return table.set_index(table.columns[0])

    return cached_stage("bond_geometry", p, bond_geometry_key(p), path.exists, load, compute, n_items=len,
                        files=[path]).copy()


def tsne_key(profile: str | Profile = "default") -> str:
    p = _profile(profile)
    return stage_key("tsne", {"fingerprints": fingerprints_key(p), "p": p.minkowski_p,
                              "perplexity": p.tsne_perplexity, "seed": p.seed,
                              "code": code_hash("analysis.cluster")})


def tsne_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "tsne" / f"{tsne_key(profile)}.parquet"]


def tsne(profile: str | Profile = "default") -> pd.DataFrame:
    """Supplementary Note 1: t-SNE of the Minkowski distances: material_id, formula, tsne_x, tsne_y (about
    45 s for the 1950 flat-band materials: committed, so a first build reads it)."""
    p = _profile(profile)
    key = tsne_key(p)
    [path] = tsne_files(p)

    def compute():
        from elfutils.analysis.cluster import minkowski_distances, tsne_embedding
        from elfutils.analysis.fingerprints import fingerprint_matrix

        table = fingerprints(p)
        xy = tsne_embedding(minkowski_distances(fingerprint_matrix(table), p=p.minkowski_p),
                            perplexity=p.tsne_perplexity, random_state=p.seed)
        df = pd.DataFrame({"material_id": table["material_id"], "formula": table["formula"],
                           "tsne_x": xy[:, 0], "tsne_y": xy[:, 1]})
        write_parquet(df, path)
        return df

    return cached_stage("tsne", p, key, path.exists, lambda: pd.read_parquet(path), compute,
                         n_items=len, files=[path]).copy()


# --- structural fingerprints (Fig. 5) -----------------------------------------------------------------------
def cnnf_rows_key() -> str:
    """Key of the per-material CNNF rows: the sublattice file and the code that parses and fingerprints it
    (the functions' source, not the whole module, so unrelated edits keep the rows), matminer's and
    pymatgen's versions."""
    import inspect
    from importlib.metadata import version

    from elfutils.analysis import structure as st
    from elfutils.paths import data_dir

    functions = (st.split_blocks, st.parse_block, st.read_sublattice_structures, st.cnnf_featurizer,
                 st.cnnf_fingerprints)
    code = hashlib.sha256("".join(inspect.getsource(f) for f in functions).encode()).hexdigest()[:12]
    return stage_key("cnnf_rows", {"file": file_hash(data_dir() / st.SUBLATTICE_FILE), "code": code,
                                   "retry_cutoff": st.CNNF_RETRY_CUTOFF, "matminer": version("matminer"),
                                   "pymatgen": version("pymatgen")})


def _cnnf_card(path: Path) -> tuple[Path, dict]:
    card_path = path.with_suffix(".json")
    if not path.is_file() or not card_path.is_file():
        raise UnusableArtefact(f"{shown(path)} or its card is missing")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise UnusableArtefact(f"{card_path}: unreadable ({exc})") from exc
    if card.get("sha256") != file_hash(path):
        raise UnusableArtefact(f"{shown(path)} does not match its card (sha256)")
    return path, card


def _export_cnnf(_profile: Profile, target: Path, progress: bool = True) -> Path:
    """Fingerprint every sublattice of the file (CrystalNN, minutes) and write the rows to ``target`` with a
    card (key, sha256, counts, skipped); resumes from the cache's rows when interrupted."""
    from elfutils.analysis import structure as st
    from elfutils.paths import data_dir

    parsed = st.read_sublattice_structures(data_dir() / st.SUBLATTICE_FILE)
    rows_cache = cache_dir() / "cnnf" / f"{cnnf_rows_key()}-rows.parquet"
    rows_cache.parent.mkdir(parents=True, exist_ok=True)
    with locked(f"cnnf-rows-{cnnf_rows_key()}"):
        table, report = st.cnnf_fingerprints({e.material_id: e.structure for e in parsed.results},
                                             progress=progress, cache=rows_cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, rows_cache.read_bytes())
    atomic_write_json(target.with_suffix(".json"), {
        "key": cnnf_rows_key(), "sha256": file_hash(target), "n_rows": len(table),
        "n_sublattices": len(parsed.results), "skipped": [list(s) for s in report.skipped + parsed.skipped],
        "retried_with_wider_cutoff": list(table.attrs.get("retried", [])), "made_at": now(),
        "made_by": "scripts/commit_cnnf.py (elfutils.book.pipeline.COMMITTED_CNNF)"})
    return target


def _committed_cnnf_file(_profile: Profile) -> Path:
    from elfutils.paths import data_dir

    return data_dir() / "structure-fingerprints" / "cnnf-rows.parquet"


# data/structure-fingerprints/: the CNNF rows of all flat-band sublattices (``make cnnf``), the same for every
# profile; they stand in for ~10 CPU-minutes of CrystalNN when made by this code from this sublattice file
COMMITTED_CNNF = CommittedArtefact(
    name="CNNF rows", location=_committed_cnnf_file, read=_cnnf_card,
    identity=lambda _p: {"key": cnnf_rows_key()}, make=_export_cnnf, per_profile=False)


def structural_fingerprints(profile: str | Profile = "default") -> pd.DataFrame:
    """CNNF fingerprints of the flat-band sublattices of the profile's materials (index material_id).

    Materials missing from the sublattice file or that CrystalNN cannot fingerprint are left out. A shared
    per-material parquet under the cache (keyed by the sublattice file and the featuriser code) accumulates
    across profiles, so the smoke profile's work is reused by the default one.
    """
    from elfutils.analysis import structure as st
    from elfutils.paths import data_dir

    p = _profile(profile)
    source = data_dir() / st.SUBLATTICE_FILE
    base_key = cnnf_rows_key()
    rows_cache = cache_dir() / "cnnf" / f"{base_key}-rows.parquet"
    seed = None if rows_cache.exists() else COMMITTED_CNNF.status(p)[0]
    if seed is not None:  # the committed rows stand in for ~10 CPU-minutes of CrystalNN on all sublattices
        rows_cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(rows_cache, seed.read_bytes())
    ids = list(dict.fromkeys(r.material_id for r in load_dataset(p)))
    key = stage_key("cnnf", {"base": base_key, "ids": ids})
    path = cache_dir() / "cnnf" / f"{key}.parquet"

    def compute():
        entries = [e for e in st.read_sublattice_structures(source).results if e.material_id in set(ids)]
        with locked(f"cnnf-rows-{base_key}"):
            table, _ = st.cnnf_fingerprints({e.material_id: e.structure for e in entries}, progress=False,
                                            cache=rows_cache)
        write_parquet(table.reset_index(), path)
        return table

    return cached_stage("structural_fingerprints", p, key, path.exists,
                         lambda: pd.read_parquet(path).set_index("material_id"), compute, n_items=len).copy()


# --- how good is the fingerprint (the evaluation chapter) --------------------------------------------------
def fingerprint_quality_key(profile: str | Profile = "default") -> str:
    from elfutils.analysis import fingerprint_quality as fq
    from elfutils.data.dataset import POOL_FILE, dft_store_path
    from elfutils.paths import data_dir

    p = _profile(profile)
    twins = dft_store_path().with_name(fq.TWIN_STORE)
    return stage_key("fingerprint_quality", {
        "fingerprints": fingerprints_key(p), "cnnf": cnnf_rows_key(), "sample": fq.ROBUSTNESS_SAMPLE,
        "pool": file_hash(data_dir() / POOL_FILE),
        "twins": [[f.name, file_hash(f)] for f in sorted(twins.glob("part-*"))],
        "code": [code_hash(m) for m in ("analysis.fingerprint_quality", "analysis.evaluation",
                                        "analysis.perturbation", "images.render", "analysis.cluster")],
        "params": [p.minkowski_p, p.min_cluster_size, p.min_samples, p.seed, p.render_params()]})


def fingerprint_quality(profile: str | Profile = "default") -> dict:
    """:func:`elfutils.analysis.fingerprint_quality.measure` on the profile's dataset, its model and the 12
    real VASP files against their GPAW twins (JSON, cached)."""
    from elfutils.analysis import fingerprint_quality as fq
    from elfutils.analysis.cluster_statistics import FLAT_BAND_MAX_WIDTH_EV, FLAT_BAND_WINDOW_EV
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.data.dataset import dft_store_path, flatness_labels, real_band_files
    from elfutils.data.energy_zero import METAL_GAP_EV
    from elfutils.data.readers import read_band_file
    from elfutils.data.store import BandStore
    from elfutils.images.render import render_band_image

    p = _profile(profile)
    key = fingerprint_quality_key(p)
    [path] = fingerprint_quality_files(p)

    def compute():
        stack, ids, _ = images(p)
        by_id = {r.material_id: r for r in load_dataset(p)}
        records = [by_id[m] for m in ids]
        elf = fingerprint_matrix(fingerprints(p).set_index("material_id").loc[ids].reset_index())
        net, _, _ = model(p)
        render = p.render_params()
        twins = BandStore(dft_store_path().with_name(fq.TWIN_STORE))
        files = [f for f in real_band_files() if f.stem in set(twins.ids())]
        result = fq.measure(
            records, stack, elf, lambda im: _encode(net, im), render,
            flatness_labels(), structural_fingerprints(p),
            np.stack([render_band_image(read_band_file(f), **render) for f in files]),
            [f.stem for f in files],
            np.stack([render_band_image(twins.get(f.stem), **render) for f in files]),
            [f.stem for f in files], p=p.minkowski_p, min_cluster_size=p.min_cluster_size,
            min_samples=p.min_samples, metal_gap_ev=METAL_GAP_EV, flat_window_ev=FLAT_BAND_WINDOW_EV,
            flat_max_width_ev=FLAT_BAND_MAX_WIDTH_EV, seed=p.seed)
        atomic_write_json(path, result)
        return json.loads(path.read_text())  # as a later load sees it (sorted keys): one order for the book

    return cached_stage("fingerprint_quality", p, key, path.exists, lambda: json.loads(path.read_text()),
                         compute, files=[path])


def fingerprint_quality_files(profile: str | Profile = "default") -> list[Path]:
    return [cache_dir() / "fingerprint-quality" / f"{fingerprint_quality_key(profile)}.json"]


# --- training history (Fig. 1) ------------------------------------------------------------------------------
def model_history(profile: str | Profile = "default") -> pd.DataFrame:
    """Per-epoch history of the profile's model: epoch, train_bce, val_bce (noised inputs), val_bce_clean, lr,
    seconds. From the model card; for a training folder's best.safetensors, from last.safetensors beside it,
    which carries every epoch (best.safetensors stops at the best one)."""
    from elfutils.nn.checkpoint import training_card

    path, _ = model_file(profile)
    return pd.DataFrame(training_card(path).get("history") or [])


# --- architecture comparison (Supplementary Note 2) ---------------------------------------------------------
def architecture_profile(profile: str | Profile = "default") -> Profile:
    """The profile whose images the architecture comparison trains on (``architecture_image_size``)."""
    p = _profile(profile)
    size = p.architecture_image_size or p.image_size
    return p if size == p.image_size else p.replace(image_size=size)


def architecture_config(profile: str | Profile, backbone: str, latent_channels: int):
    """The ElfConfig of one variant: the profile's, with another trunk, latent channels and epoch budget."""
    import dataclasses as _dc

    p = _profile(profile)
    return _dc.replace(architecture_profile(p).elf_config(), backbone=backbone,
                       latent_channels=int(latent_channels), epochs=p.architecture_epochs)


def architecture_model_key(profile: str | Profile, backbone: str, latent_channels: int) -> str:
    p = _profile(profile)
    config = architecture_config(p, backbone, latent_channels)
    # "study" keeps these folders apart from the model stage's even when a config coincides
    return stage_key("model", {"study": "architectures", "config": config.to_dict(),
                               "data": image_data_hash(architecture_profile(p)),
                               "architecture": code_hash("nn.model")})


def architecture_model_file(profile: str | Profile, backbone: str, latent_channels: int) -> Path:
    """One variant's trained model file, training it into ``cache/models/<key>/`` first when needed (an
    interrupted training resumes). Logged as stage ``architecture-<backbone>-<side>x<side>x<channels>``."""
    from elfutils.nn.checkpoint import resolve_model_path

    p = _profile(profile)
    ip = architecture_profile(p)
    config = architecture_config(p, backbone, latent_channels)
    key = architecture_model_key(p, backbone, latent_channels)
    out = cache_dir() / "models" / key
    done = out / "COMPLETE.json"

    def compute():
        stack, ids, _ = images(ip)
        _train(stack, ids, config, out, ip.render_settings())
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
    p = _profile(profile)
    return stage_key("architecture_study", {
        "images": images_key(architecture_profile(p)),
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
    p = _profile(profile)
    ap = architecture_profile(p)
    shared = architecture_config(p, *p.architecture_variants[0]).to_dict()
    for name in ("backbone", "latent_channels"):
        shared.pop(name)
    return {"data_hash": image_data_hash(ap), "variants": [list(v) for v in p.architecture_variants],
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

COMMITTED_ARTEFACTS = (COMMITTED_MODEL, COMMITTED_ARCHITECTURE_STUDY, COMMITTED_CNNF)


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
    p = _profile(profile)
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
        stack, _, _ = images(architecture_profile(p))
        rows, histories = [], []
        for backbone, channels in p.architecture_variants:
            config = architecture_config(p, backbone, channels)
            net, _, card = _load_model(architecture_model_file(p, backbone, channels))
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
                **_architecture_scores(_encode(net, stack), p)})
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




def load_clustering(profile, attempts: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(clustering table, cluster tree, exemplars) of one and the same cached clustering stage.

    The three come from separate stage calls, each keyed by the current code and data; if the key changes
    between the calls (a module or the band store edited during a build), they are read again so that the
    exemplars' clusters are the table's clusters.
    """
    for _ in range(attempts):
        key = clustering_key(profile)
        table, tree, chosen = clustering(profile), cluster_tree(profile), exemplars(profile)
        if clustering_key(profile) == key:
            return table, tree, chosen
    raise RuntimeError("the clustering kept changing while it was read "
                       "(code or data edited during the build)")
