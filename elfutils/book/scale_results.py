"""What benchmarks/bench_scale.py recorded, as a tidy table and the cost-against-N figure of the
reproducibility page."""

from __future__ import annotations

import json
from pathlib import Path

from elfutils.paths import PROJECT_ROOT

SCALE_RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "scale.json"
STAGES = ("knn", "cluster", "duplicates", "similar", "encode")


def scale_results(path: str | Path = SCALE_RESULTS) -> dict | None:
    """The benchmark's JSON, or None when it has not been run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def scale_table(result: dict):
    """One row per measured stage: stage, path (dense / graph / the kNN method / index), n, wall_s, peak_mb,
    and the stage's quality figure where it has one (recall@10, clusters, candidate pairs); failed stages
    keep their error."""
    import pandas as pd

    rows = []
    for stage in STAGES:
        for run in result.get(stage, []):
            path = run.get("scale") or run.get("method") or run.get("method_asked") or (
                "index" if stage == "similar" else "store")
            n = run.get("m") if stage == "encode" else run.get("n")
            rows.append({"stage": stage, "path": path, "n": n, "wall_s": run.get("wall_s"),
                         "peak_mb": run.get("peak_mb"), "recall_at_10": run.get("recall_at_10"),
                         "ms_per_query": run.get("ms_per_query"), "build_s": run.get("build_s"),
                         "n_clusters": run.get("n_clusters"), "n_candidates": run.get("n_candidates"),
                         "images_per_s": run.get("images_per_s"), "error": run.get("error", "")})
    return pd.DataFrame(rows)


