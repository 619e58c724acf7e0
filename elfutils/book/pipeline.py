"""The book's stages under one name, as the chapters call them (``pipeline.fingerprints(settings)``).

Each stage family lives in its own module under :mod:`elfutils.book.stages`; the engine -- keys, disk
cache, locks, memory, timings, committed results -- is :mod:`elfutils.book.cache`. This module only
re-exports them. A test that replaces a stage's seam (``_render``, ``_train``, ``_encode`` ...) replaces it
in the stage module that defines it.
"""

from __future__ import annotations

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
from elfutils.book.profiles import Profile, get_profile  # noqa: F401
from elfutils.book.stages.architectures import (  # noqa: F401
    ARCHITECTURE_STUDY_CARD,
    ARCHITECTURE_STUDY_FILES,
    COMMITTED_ARCHITECTURE_STUDY,
    architecture_config,
    architecture_history,
    architecture_model_file,
    architecture_model_key,
    architecture_profile,
    architecture_study,
    architecture_study_device,
    architecture_study_identity,
    architecture_study_key,
    architecture_study_source,
)
from elfutils.book.stages.bond_geometry import bond_geometry, bond_geometry_files, bond_geometry_key  # noqa: F401
from elfutils.book.stages.clustering import (  # noqa: F401
    cluster_tree,
    clustering,
    clustering_files,
    clustering_key,
    exemplars,
    hdbscan_model,
    load_clustering,
)
from elfutils.book.stages.dataset import (  # noqa: F401
    DATASET_KEYS_FILE,
    MissingStoreError,
    data_key,
    dataset_hash,
    files_signature,
    load_dataset,
    remember_dataset_key,
    require_store,
)
from elfutils.book.stages.fingerprint_quality import (  # noqa: F401
    fingerprint_quality,
    fingerprint_quality_files,
    fingerprint_quality_key,
)
from elfutils.book.stages.fingerprints import (  # noqa: F401
    fingerprints,
    fingerprints_files,
    fingerprints_key,
    model_identity,
)
from elfutils.book.stages.images import image_data_hash, images, images_key, skipped_images  # noqa: F401
from elfutils.book.stages.model import (  # noqa: F401
    COMMITTED_MODEL,
    COMMITTED_MODEL_FILE,
    COMMITTED_MODEL_MAX_BYTES,
    card_training_seconds,
    model,
    model_file,
    model_history,
    model_key,
    model_profile,
    model_summary,
    trained_model_file,
)
from elfutils.book.stages.parameter_study import (  # noqa: F401
    parameter_study,
    parameter_study_files,
    parameter_study_key,
)
from elfutils.book.stages.structural_fingerprints import (  # noqa: F401
    COMMITTED_CNNF,
    cnnf_rows_key,
    structural_fingerprints,
)
from elfutils.book.stages.tsne import tsne, tsne_files, tsne_key  # noqa: F401

# what ``make models`` remakes and the committed-results check reads
COMMITTED_ARTEFACTS = (COMMITTED_MODEL, COMMITTED_ARCHITECTURE_STUDY, COMMITTED_CNNF)

# atlas_stage.py calls pl._profile; its source is part of its own cache key, so it keeps the old name
_profile = get_profile
