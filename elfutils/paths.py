"""One place that decides where things live and which device runs the network.

Environment overrides: ELF_DATA_DIR (the embedded dataset), ELF_CACHE_DIR (cached stages, models),
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


def models_dir() -> Path:
    """Committed trained models with their model cards."""
    return PROJECT_ROOT / "models"


def default_device() -> str:
    """ELF_DEVICE if set, else CUDA when present, else CPU."""
    if "ELF_DEVICE" in os.environ:
        return os.environ["ELF_DEVICE"]
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
