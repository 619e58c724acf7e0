"""One place that decides where things live and which device runs the network.

Environment overrides: ELF_DATA_DIR (the embedded dataset), ELF_CACHE_DIR (cached stages, models),
ELF_MODELS_DIR (where models are found by name, default the committed ``models/``),
ELF_DEVICE ("cpu", "cuda", "cuda:1", ...).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The project's embedded data folder (``data/`` in the repository)."""
    return Path(os.environ.get("ELF_DATA_DIR", PROJECT_ROOT / "data"))


def cache_dir() -> Path:
    """Where expensive stages are cached (created on demand)."""
    path = Path(os.environ.get("ELF_CACHE_DIR", PROJECT_ROOT / ".cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def committed_models_dir() -> Path:
    """The models committed with the repository (``models/``), and the book's committed results."""
    return PROJECT_ROOT / "models"


def models_dir() -> Path:
    """Where a model given by name is looked for first: ELF_MODELS_DIR, else the committed models."""
    return Path(os.environ.get("ELF_MODELS_DIR", committed_models_dir()))


def model_search_dirs() -> list[Path]:
    """Where a model name is looked up, in order: ELF_MODELS_DIR (when set), then the committed models."""
    return list(dict.fromkeys([models_dir(), committed_models_dir()]))


def default_device() -> str:
    """ELF_DEVICE if set, else CUDA when present, else CPU."""
    if "ELF_DEVICE" in os.environ:
        return os.environ["ELF_DEVICE"]
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
