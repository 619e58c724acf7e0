"""Named parameter profiles for the book: which data, which images, which model, which clustering.

Every notebook has one ``parameters`` cell, ``profile = "default"``; ``make book PROFILE=smoke`` (papermill)
replaces it. A notebook turns the name into a :class:`Profile` with :func:`get_profile` and hands that to the
cached stages of :mod:`elfutils.book.pipeline`.

* ``default`` -- the paper's settings on the embedded dataset (every material of our GPAW store): 224 px
  images, ResNet18, 30 epochs, Nc = 5, Ns = 2, ...; it starts from the trained model committed in
  ``models/elf-resnet18/`` when that model's data hash matches the images, otherwise it trains once and
  caches the result; likewise the architecture comparison's results in ``models/architecture-study/``.
* ``smoke`` -- every notebook in a few minutes (CI): the 12 real 2Dmatpedia band files plus the first store
  materials, 48 in all; 2 epochs; Nc = 2, Ns = 1 so that clusters exist; a 3 x 2 parameter-study grid; an
  architecture comparison of 1 epoch on 64 px images. The numbers mean nothing; the code paths are the real
  ones.
* ``retrain`` -- the paper's settings, training from scratch (ignores the committed model and results).
* ``2dmatpedia`` -- the exact paper pipeline on the real 2Dmatpedia band files (VASP), for those who have the
  2Dmatpedia download: the paper's settings on ``data/bands/2dmatpedia-vasp.elfstore`` (not committed), built
  with ``elf import <download>/bands --flat-band-pool --store data/bands/2dmatpedia-vasp.elfstore``; then
  ``make book PROFILE=2dmatpedia``. It trains its own model (the committed one learned our GPAW images).
  Without that store the pipeline (and ``make book``) stops with a message saying how to build it.
* ``atlas`` -- all of 2Dmatpedia (the atlas chapter): the flat-band store and the atlas store
  (``elf dft --atlas``), encoded by the paper's network trained on all of those images (committed in
  ``models/elf-resnet18-atlas/``, :data:`ATLAS_EPOCHS` epochs), clustered with the paper's settings;
  ``elf similar --profile atlas FILE`` searches it. :func:`atlas_profile` gives the atlas profile that goes
  with another one (for ``smoke``, 12 real files and the first atlas-store materials), and
  :func:`flatband_model_profile` the same images encoded by that profile's flat-band model instead
  (``model_from``: does the flat-band model generalise?).

The paper's numbers come from :mod:`elfutils.constants`; only the settings the paper does not fix (and the
smoke profile's sizes) are chosen here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from elfutils.constants import (
    BACKBONE,
    DBSCAN_MIN_SAMPLES,
    ENERGY_WINDOW_EV,
    EPOCHS,
    HDBSCAN_MIN_CLUSTER_SIZE,
    HDBSCAN_MIN_SAMPLES,
    IMAGE_SIZE,
    MINKOWSKI_P,
    PARAMETER_STUDY_RANGE,
    SEED,
    UMAP_MIN_DIST,
    UMAP_N_NEIGHBORS,
)
from elfutils.data.dataset import ATLAS_STORE  # every other 2Dmatpedia material with an ID (elf dft --atlas)

SMOKE_MAX_MATERIALS = 48
# Supplementary Note 2: (backbone, latent channels) compared; the paper tests ResNet34 and ResNet50 trunks and
# other latent sizes without listing them, so the latent sizes 7 x 7 x 1 / x 2 / x 4 are our choice
ARCHITECTURE_VARIANTS = (("resnet18", 2), ("resnet34", 2), ("resnet50", 2), ("resnet18", 1), ("resnet18", 4))
COMMITTED_MODEL_FOLDER = "elf-resnet18"  # folder under models/ (elfutils.paths.committed_models_dir())
ATLAS_MODEL_FOLDER = "elf-resnet18-atlas"  # the atlas profile's own model, beside it
# The atlas model keeps the default model's optimiser-step budget rather than its epoch count: 30 epochs of
# 1755 training images are 3300 steps of 16, and 13 epochs of the atlas's 4142 are 3367 (30 atlas epochs
# would take 2.6 h on a 2-core CPU). tests/test_committed_models.py checks the two budgets stay within 10 %.
ATLAS_EPOCHS = 13
COMMITTED_ARCHITECTURE_FOLDER = "architecture-study"  # its results, beside the model
IMPORTED_2DMATPEDIA_STORE = "bands/2dmatpedia-vasp.elfstore"  # under data/; built by `elf import`
# Parameter study on the atlas: every fit is a dense HDBSCAN on ~4600 materials, so a 4 x 4 corner-and-middle
# grid over the paper's range instead of its 10 x 10 (the paper's own Nc = 5, Ns = 2 sit between grid points)
ATLAS_STUDY_GRID = (2, 5, 8, 11)


@dataclass(frozen=True)
class Profile:
    """Everything a book build depends on, besides the code. Frozen: derive variants with :meth:`replace`."""

    name: str
    description: str = ""
    # --- data -----------------------------------------------------------------------------------------------
    # band store folder, relative to elfutils.paths.data_dir() unless absolute (notebooks run in book/, so a
    # path relative to the working directory would not do); "" = the embedded GPAW dataset
    store: str = ""
    store_help: str = ""  # how to build the store ("{store}" = its path), for the error when it is missing
    # more band stores read after ``store`` (same form); an id already read is not read again
    extra_stores: tuple[str, ...] = ()
    max_materials: int | None = None  # None = every material in the store
    include_fixture_files: bool = False  # first the 12 real 2Dmatpedia band files (VASP), then the store
    # --- images (Methods, "Network training and fingerprint") ----------------------------------------------
    image_size: int = IMAGE_SIZE
    energy_window: float = ENERGY_WINDOW_EV
    x_axis: str = "index"
    line_width: float | None = None  # None = elfutils.images.render's default
    render_engine: str = "fast"
    # --- model ----------------------------------------------------------------------------------------------
    backbone: str = BACKBONE
    epochs: int = EPOCHS
    batch_size: int | None = None  # None = ElfConfig's default
    # use models/<committed_model>/ (and the committed architecture comparison) when they were made from
    # these images with these settings
    use_committed_model: bool = True
    committed_model: str = COMMITTED_MODEL_FOLDER
    committed_architecture_study: str = COMMITTED_ARCHITECTURE_FOLDER
    # another profile (or its name): encode this profile's images with that profile's model instead of one
    # of its own (the atlas asks how far the flat-band model carries); "" = this profile's own model
    model_from: str | Profile = ""
    # --- clustering (Results and Methods, "Multi-stage clustering module") ----------------------------------
    min_cluster_size: int = HDBSCAN_MIN_CLUSTER_SIZE  # Nc
    min_samples: int = HDBSCAN_MIN_SAMPLES  # Ns
    minkowski_p: float = MINKOWSKI_P
    umap_n_neighbors: int = UMAP_N_NEIGHBORS
    umap_min_dist: float = UMAP_MIN_DIST
    # see elfutils.analysis.cluster.knee_eps for why not the paper's 0.8 / 25
    dbscan_eps: float | str = "knee"
    dbscan_min_samples: int = DBSCAN_MIN_SAMPLES
    study_min_cluster_sizes: tuple[int, ...] = tuple(PARAMETER_STUDY_RANGE)  # Fig. 7: Nc 2..11
    study_min_samples: tuple[int, ...] = tuple(PARAMETER_STUDY_RANGE)  # Fig. 7: Ns 2..11
    tsne_perplexity: float = 30.0  # scikit-learn's default; the paper does not give one
    # --- architecture comparison (Supplementary Note 2; elfutils.book.pipeline.architecture_study)
    # --------------
    architecture_variants: tuple[tuple[str, int], ...] = ARCHITECTURE_VARIANTS  # (backbone, latent channels)
    architecture_epochs: int = 5  # epoch budget per variant: 30 epochs of five networks take days on a CPU
    architecture_image_size: int | None = None  # None = image_size
    seed: int = SEED

    def __post_init__(self):
        if not self.name:
            raise ValueError("a profile needs a name")
        if self.max_materials is not None and self.max_materials < 1:
            raise ValueError(f"max_materials must be None or >= 1, got {self.max_materials!r}")
        if self.image_size % 32:
            raise ValueError(
                f"image_size must be a multiple of 32 (the encoder downsamples by 32), got {self.image_size}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not (isinstance(self.dbscan_eps, str) and self.dbscan_eps == "knee") and not (
            isinstance(self.dbscan_eps, int | float) and self.dbscan_eps > 0
        ):
            raise ValueError(f"dbscan_eps must be 'knee' or a positive number, got {self.dbscan_eps!r}")
        for name in ("study_min_cluster_sizes", "study_min_samples"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if self.architecture_epochs < 1:
            raise ValueError(f"architecture_epochs must be >= 1, got {self.architecture_epochs}")
        if self.architecture_image_size is not None and (
                self.architecture_image_size < 32 or self.architecture_image_size % 32):
            raise ValueError("architecture_image_size must be None or a positive multiple of 32, got "
                             f"{self.architecture_image_size}")
        variants = tuple((str(b), int(c)) for b, c in self.architecture_variants)
        if not variants or any(c < 1 for _, c in variants) or len(set(variants)) != len(variants):
            raise ValueError("architecture_variants must be distinct (backbone, latent channels >= 1) pairs, "
                             f"got {self.architecture_variants!r}")
        object.__setattr__(self, "architecture_variants", variants)
        object.__setattr__(self, "extra_stores", tuple(str(s) for s in self.extra_stores))
        if getattr(self.model_from, "name", self.model_from) == self.name:
            raise ValueError(f"profile {self.name!r} cannot take its model from itself")

    # --- derived settings ---------------------------------------------------------------------------------
    def store_path(self) -> Path:
        """The band store this profile reads."""
        from elfutils.data.dataset import dft_store_path
        from elfutils.paths import data_dir

        return data_dir() / self.store if self.store else Path(dft_store_path())

    def store_paths(self) -> list[Path]:
        """Every band store this profile reads, in order: :meth:`store_path`, then ``extra_stores``."""
        from elfutils.paths import data_dir

        return [self.store_path(), *(data_dir() / s for s in self.extra_stores)]

    def missing_store_message(self) -> str:
        """Why this profile has no data and how to get it (:func:`elfutils.book.pipeline.load_dataset` raises
        it
        when the store is missing or empty)."""
        from elfutils.paths import PROJECT_ROOT

        store = self.store_path()
        if store.is_relative_to(PROJECT_ROOT):  # as typed in the project folder, where `make book` runs
            store = store.relative_to(PROJECT_ROOT)
        if self.store_help:
            how = self.store_help.format(store=store)
        elif self.store:
            how = f"build it with: elf import <band files or folders> --store {store}"
        else:  # the embedded dataset is committed: it went missing, or the DFT batch has not run yet
            how = ("it is the project's embedded GPAW dataset: restore data/bands/ from git, or compute it "
                   "with `make data`")
        return (f"profile {self.name!r} reads the band store {store}, which is missing or holds no band "
                f"structures; {how}")

    def render_settings(self):
        """The :class:`elfutils.images.settings.RenderSettings` of this profile's images (what its model's
        card records, and what draws anything encoded by that model)."""
        from elfutils.images.render import LINE_WIDTH_PX
        from elfutils.images.settings import RenderSettings

        return RenderSettings(image_size=self.image_size, window_ev=self.energy_window, x_axis=self.x_axis,
                              line_width_px=self.line_width or LINE_WIDTH_PX, engine=self.render_engine)

    def render_params(self) -> dict:
        """Keyword arguments for :func:`elfutils.images.render.render_many`."""
        params = {"size": self.image_size, "window": self.energy_window, "x_axis": self.x_axis,
                  "engine": self.render_engine}
        if self.line_width is not None:
            params["line_width"] = self.line_width
        return params

    def elf_config(self):
        """The :class:`elfutils.nn.model.ElfConfig` of this profile (ElfConfig's defaults for the rest)."""
        from elfutils.nn.model import ElfConfig

        kwargs = {"backbone": self.backbone, "image_size": self.image_size, "epochs": self.epochs,
                  "seed": self.seed}
        if self.batch_size is not None:
            kwargs["batch_size"] = self.batch_size
        return ElfConfig(**kwargs)

    def cluster_params(self) -> dict:
        """Keyword arguments for :func:`elfutils.analysis.cluster.fit_pipeline`."""
        return {
            "min_cluster_size": self.min_cluster_size,
            "min_samples": self.min_samples,
            "p": self.minkowski_p,
            "n_neighbors": self.umap_n_neighbors,
            "min_dist": self.umap_min_dist,
            "eps": self.dbscan_eps,
            "dbscan_min_samples": self.dbscan_min_samples,
            "random_state": self.seed,
        }

    def replace(self, **changes) -> Profile:
        """A copy with some fields changed (e.g. ``get_profile("smoke").replace(epochs=1)``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PROFILES: dict[str, Profile] = {
    "default": Profile(
        name="default",
        description="the paper's settings on the embedded GPAW dataset; the committed model when it matches",
    ),
    "smoke": Profile(
        name="smoke",
        description=f"CI: the 12 real band files + the first store materials ({SMOKE_MAX_MATERIALS} in all), "
        "2 epochs, Nc = 2 and Ns = 1, a 3 x 2 parameter-study grid",
        max_materials=SMOKE_MAX_MATERIALS,
        include_fixture_files=True,
        epochs=2,
        batch_size=16,
        use_committed_model=False,
        # a 2-epoch model on 48 materials gives HDBSCAN too little structure for Nc = 5: with the smallest
        # legal values every downstream figure still has clusters to draw
        min_cluster_size=2,
        min_samples=1,
        study_min_cluster_sizes=(2, 3, 5),
        study_min_samples=(1, 2),
        architecture_epochs=1,
        architecture_image_size=64,  # a 2 x 2 latent: five tiny networks in well under a minute
    ),
    "retrain": Profile(
        name="retrain",
        description="the paper's settings on the embedded GPAW dataset, trained from scratch",
        use_committed_model=False,
    ),
    "2dmatpedia": Profile(
        name="2dmatpedia",
        description="the paper's settings on the real 2Dmatpedia band files (VASP) of the flat-band pool, "
        "imported from the 2Dmatpedia download with `elf import`; trained from scratch",
        store=IMPORTED_2DMATPEDIA_STORE,
        store_help="build it from the 2Dmatpedia download with: elf import <download>/bands --flat-band-pool "
        "--store {store}",
        use_committed_model=False,  # the committed model learned our GPAW images, not these
    ),
    "atlas": Profile(
        name="atlas",
        description="all of 2Dmatpedia: the flat-band store and the atlas store (elf dft --atlas), encoded "
        "by the paper's network trained on all of their images; the paper's clustering settings",
        extra_stores=(ATLAS_STORE,),
        store_help="compute it with `elf dft --atlas` (the flat-band store is the embedded dataset)",
        committed_model=ATLAS_MODEL_FOLDER,
        epochs=ATLAS_EPOCHS,
        study_min_cluster_sizes=ATLAS_STUDY_GRID,
        study_min_samples=ATLAS_STUDY_GRID,
    ),
}


ATLAS_SUFFIX = "-atlas"  # get_profile("smoke-atlas") is atlas_profile("smoke")
FLATBAND_MODEL_SUFFIX = "-flatband-model"  # get_profile("atlas-flatband-model") is flatband_model_profile()


def atlas_profile(profile: str | Profile = "default") -> Profile:
    """The all-of-2Dmatpedia profile that goes with a book profile (the atlas chapter's), with a model trained
    on its own images: ``atlas`` for the default one; for ``smoke``, its 12 real band files and the first
    atlas-store materials, 2 epochs; for any other, ``atlas`` trained from scratch where that profile
    trains."""
    p = get_profile(profile)
    if p.name in ("default", "atlas"):
        return PROFILES["atlas"]
    if p.name == "smoke":
        return p.replace(name="smoke" + ATLAS_SUFFIX, store=ATLAS_STORE,
                         description="CI: the 12 real band files + the first atlas-store materials, a "
                         "smoke model of their own")
    return PROFILES["atlas"].replace(name=p.name + ATLAS_SUFFIX, use_committed_model=p.use_committed_model)


def flatband_model_profile(profile: str | Profile = "default") -> Profile:
    """The atlas profile's images encoded by the book profile's own model, the one that learned only the
    flat-band materials (``model_from``): the atlas chapter's "does the flat-band model generalise?"."""
    p = get_profile(profile)
    book = get_profile("default") if p.name == "atlas" else p
    atlas = atlas_profile(book)
    return atlas.replace(name=atlas.name + FLATBAND_MODEL_SUFFIX, model_from=book.name,
                         description=f"{atlas.name}'s images encoded by the {book.name} profile's model")


def _book_profile_of_atlas(name: str) -> str:
    """"atlas" -> "default", "smoke-atlas" -> "smoke": the book profile an atlas profile's name belongs to."""
    if name != "atlas" and not name.endswith(ATLAS_SUFFIX):
        raise ValueError(f"unknown profile {name + FLATBAND_MODEL_SUFFIX!r}: {FLATBAND_MODEL_SUFFIX} follows "
                         f"an atlas profile's name (atlas, <name>{ATLAS_SUFFIX})")
    return "default" if name == "atlas" else name.removesuffix(ATLAS_SUFFIX)


def get_profile(profile: str | Profile = "default", **changes) -> Profile:
    """The named profile (or a Profile passed through), with optional field changes.

    Raises:
        ValueError: an unknown name; the message lists the known ones. ``<name>-atlas`` is
        :func:`atlas_profile` of a known ``<name>``.
    """
    if isinstance(profile, Profile):
        base = profile
    elif isinstance(profile, str) and profile in PROFILES:
        base = PROFILES[profile]
    elif isinstance(profile, str) and profile.removesuffix(ATLAS_SUFFIX) in PROFILES:
        base = atlas_profile(profile.removesuffix(ATLAS_SUFFIX))
    elif isinstance(profile, str) and profile.endswith(FLATBAND_MODEL_SUFFIX):
        base = flatband_model_profile(_book_profile_of_atlas(profile.removesuffix(FLATBAND_MODEL_SUFFIX)))
    else:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)} "
                         f"(or <name>{ATLAS_SUFFIX}, and <atlas name>{FLATBAND_MODEL_SUFFIX})")
    return base.replace(**changes) if changes else base
