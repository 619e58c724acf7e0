"""The figure reader measured on figures drawn by other people's plotting code (issue #33).

    .venv/bin/python benchmarks/figure_study.py                    # 300 atlas materials + the 12 VASP files
    .venv/bin/python benchmarks/figure_study.py --materials 20     # a quick look

Each of a seeded sample of atlas materials is drawn at ±2, ±3 and ±4 eV, in a different style at each
window (:mod:`elfutils.analysis.figure_styles`: pymatgen, ASE, sumo, four matplotlib looks; the styles turn
from material to material, so every style meets every window); the 12 real 2Dmatpedia VASP files are drawn
by pymatgen's BSPlotter at the three windows. Every figure is read as a user's would be (no
``--energy-range``; where the axis cannot be read, again with the true range, as the error message asks),
compared with the record it was drawn from, and searched for among the atlas's fingerprints by the atlas
model, in the window it shares with them (:mod:`elfutils.analysis.figure_study`).

Resumable: each figure's reading is appended to ``.cache/figure-study/readings.jsonl`` as it finishes (a
killed run loses at most the figures being read); the atlas encoded per shared window is cached by
``elf similar``'s own cache. Writes ``benchmarks/results/figure-study.json`` (the table by style and window,
the per-figure rows, the machine and its load).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_book import RunQueueSampler

ROOT = Path(__file__).resolve().parent.parent
PROFILE = "atlas"
WINDOWS = (2.0, 3.0, 4.0)  # ± eV on the figure's own axis
VASP_STYLE = "pymatgen BSPlotter"
OUT = ROOT / "benchmarks" / "results" / "figure-study.json"


def plan(n_materials: int, seed: int) -> list[dict]:
    """Every figure to draw: (name, source, material_id, style, window)."""
    from elfutils.analysis.figure_styles import available_styles
    from elfutils.book import pipeline as pl
    from elfutils.data.dataset import real_band_files

    records = pl.load_dataset(PROFILE)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(records), size=min(n_materials, len(records)), replace=False))
    styles = available_styles()
    jobs = []
    for i, r in enumerate(chosen):
        for w, window in enumerate(WINDOWS):
            style = styles[(i + w * 2) % len(styles)]
            jobs.append({"material_id": records[r].material_id, "source": f"{PROFILE}:{r}", "style": style,
                         "window": window, "set": "atlas"})
    for path in real_band_files():
        for window in WINDOWS:
            jobs.append({"material_id": path.stem, "source": str(path.relative_to(ROOT)), "style": VASP_STYLE,
                         "window": window, "set": "VASP files"})
    for job in jobs:
        job["name"] = f"{job['material_id']}-{int(job['window'])}ev-{_slug(job['style'])}"
    return jobs


def _slug(style: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in style.lower()).strip("-")[:40]


_RECORDS = None


def _record(source: str):
    global _RECORDS
    from elfutils.data.readers import read_band_file

    if source.startswith(f"{PROFILE}:"):
        if _RECORDS is None:
            from elfutils.book import pipeline as pl

            _RECORDS = pl.load_dataset(PROFILE)
        return _RECORDS[int(source.split(":")[1])]
    return read_band_file(ROOT / source)


def read_one(job: dict) -> dict:
    """Draw, read and compare one figure (in a worker); the digitised image is saved beside the readings."""
    from elfutils.analysis.figure_study import fidelity, window_rows
    from elfutils.analysis.figure_styles import draw_figure, figure_suffix
    from elfutils.analysis.figure_window import crop_to_window, figure_window
    from elfutils.data.figure_reader import FigureOptions
    from elfutils.data.readers import read_band_file
    from elfutils.errors import BandDataError
    from elfutils.nn.checkpoint import card_render_settings, read_card, resolve_model_path

    settings = card_render_settings(read_card(resolve_model_path("elf-resnet18-atlas")))
    truth = _record(job["source"])
    folder = Path(job["folder"])
    out = folder / "figures" / (job["name"] + figure_suffix(job["style"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    w = job["window"]
    row = {k: job[k] for k in ("name", "material_id", "style", "window", "set")}
    try:
        drawn = draw_figure(truth, job["style"], (-w, w), out)
    except Exception as exc:  # a plotting library that cannot draw this record: counted, not hidden
        return {**row, "drawn": False, "read": False, "axis_read": False, "error": f"draw: {exc}"}
    row.update(drawn=True, zero_shift_ev=drawn.zero_shift_ev, bytes=out.stat().st_size)
    try:
        record = read_band_file(out)
        row["axis_read"] = True
    except BandDataError as exc:
        row.update(axis_read=False, error=str(exc))
        if "energy axis" not in str(exc):  # refused for another reason: the true range cannot help
            return {**row, "read": False}
        try:
            record = read_band_file(out, figure=FigureOptions(energy_range=drawn.window))
        except BandDataError as exc2:
            return {**row, "read": False, "error": str(exc2)}
    lo, hi = record.metadata["figure_energy_range"]
    row.update(read=True, axis_lo=lo, axis_hi=hi,
               axis_error_ev=max(abs(lo - drawn.window[0]), abs(hi - drawn.window[1])),
               path_read=record.metadata["figure_path"], path_source=record.metadata["figure_path_source"],
               branch_order=record.metadata["figure_branch_order"],
               zero_error_ev=float(record.efermi - drawn.zero_shift_ev))
    try:
        window = figure_window(record, settings.window_ev)
    except BandDataError as exc:
        return {**row, "read": False, "error": str(exc)}
    shown = window or (-settings.window_ev, settings.window_ev)
    query = crop_to_window(record, window) if window else record
    image = settings.render(query)
    true_image = settings.render(crop_to_window(truth, shown))
    row.update(shared_window=list(shown), **fidelity(image, true_image, window_rows(settings, shown)))
    np.save(folder / "queries" / f"{job['name']}.npy", image)
    return row


def _worker(job):
    import warnings

    warnings.simplefilter("ignore")
    try:
        return read_one(job)
    except Exception as exc:  # one figure's surprise must not end the study: named in its row
        return {k: job[k] for k in ("name", "material_id", "style", "window", "set")} | {
            "drawn": False, "read": False, "axis_read": False, "error": f"{type(exc).__name__}: {exc}"}


def read_all(jobs: list[dict], folder: Path, workers: int) -> tuple[dict[str, dict], int]:
    """Readings by figure name, resumed from ``readings.jsonl``, and how many were read by this run."""
    from multiprocessing import get_context

    from elfutils.io import open_no_follow

    (folder / "queries").mkdir(parents=True, exist_ok=True)
    done_file = folder / "readings.jsonl"
    done = {}
    if done_file.exists():
        for line in done_file.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # the line a killed run was writing
                continue
            if not row.get("read") or (folder / "queries" / f"{row['name']}.npy").exists():
                done[row["name"]] = row
    todo = [dict(job, folder=str(folder)) for job in jobs if job["name"] not in done]
    print(f"{len(done)} figures read before, {len(todo)} to go", flush=True)
    t0 = time.time()
    fd = open_no_follow(done_file)  # appends: a killed run keeps every line it finished
    try:
        with get_context("spawn").Pool(workers) as pool:
            for n, row in enumerate(pool.imap_unordered(_worker, todo, chunksize=2), 1):
                os.write(fd, (json.dumps(row) + "\n").encode())
                done[row["name"]] = row
                if n % 25 == 0 or n == len(todo):
                    print(f"  {n}/{len(todo)} read, {(time.time() - t0) / n:.2f} s a figure", flush=True)
    finally:
        os.close(fd)
    return done, len(todo)


def rank_all(rows: dict[str, dict], folder: Path) -> int:
    """Each read figure's rank of its own material among the atlas's fingerprints, in its shared window;
    returns how many materials the atlas holds."""
    from elfutils.analysis.figure_study import own_rank
    from elfutils.analysis.fingerprints import fingerprint_matrix
    from elfutils.commands.export_fingerprints import load_fingerprints, load_windowed_fingerprints
    from elfutils.nn.fingerprinter import load_fingerprinter

    table = load_fingerprints(PROFILE)
    model = load_fingerprinter(table.attrs["model"])
    by_window: dict = {}
    for row in rows.values():
        if row.get("read"):
            by_window.setdefault(tuple(row["shared_window"]), []).append(row)
    ids_all = set(table["material_id"].astype(str))
    full = (-model.settings.window_ev, model.settings.window_ev)
    for window, members in sorted(by_window.items(), key=lambda kv: -len(kv[1])):
        t0 = time.time()
        ref = table if window == full else load_windowed_fingerprints(PROFILE, window, model)
        X, ids = fingerprint_matrix(ref), ref["material_id"].astype(str).to_numpy()
        images = np.stack([np.load(folder / "queries" / f"{r['name']}.npy") for r in members])
        Q = model.encode(images)
        for row, q in zip(members, Q, strict=True):
            # None (a miss) also when the atlas holds the material but it shows no band in this window
            row["rank"] = own_rank(q, X, ids, row["material_id"])
            row["in_dataset"] = row["material_id"] in ids_all
        print(f"  window {window}: {len(members)} figures ranked ({time.time() - t0:.0f} s)", flush=True)
    for row in rows.values():
        row.setdefault("rank", None)
        row.setdefault("in_dataset", row["material_id"] in ids_all)
    return len(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--materials", type=int, default=300, help="atlas materials drawn (default: 300)")
    parser.add_argument("--seed", type=int, default=0, help="which materials (default: 0)")
    parser.add_argument("--workers", type=int, default=2, help="figures read at once (default: 2)")
    parser.add_argument("--folder", type=Path, default=ROOT / ".cache" / "figure-study",
                        help="figures, digitised images and the resumable readings (default: .cache/...)")
    parser.add_argument("--out", type=Path, default=OUT,
                        help=f"results JSON (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args()

    import pandas as pd

    from elfutils.analysis.figure_study import summarise
    from elfutils.io import atomic_write_json

    sampler = RunQueueSampler().__enter__()
    t0 = time.time()
    folder = args.folder / f"seed{args.seed}"
    jobs = plan(args.materials, args.seed)
    rows, read_now = read_all(jobs, folder, args.workers)
    rows = {job["name"]: rows[job["name"]] for job in jobs}
    n_references = rank_all(rows, folder)
    frame = pd.DataFrame(list(rows.values()))
    frame["read"] = frame["read"].fillna(False).astype(bool)
    # a figure refused for something other than its axis (no curve inside its window) says nothing about
    # the axis reading: unknown, not a miss
    other = ~frame["read"] & ~frame["error"].fillna("").str.contains("energy axis")
    frame["axis_read"] = frame["axis_read"].astype(object).where(~other, None)
    by_style = summarise(frame, by=("set", "style", "window"))
    by_window = summarise(frame, by=("set", "window"))
    overall = summarise(frame.assign(all="all"), by=("set",))
    elapsed = time.time() - t0
    sampler.__exit__()
    result = {
        "benchmark": "figure reader on figures drawn by pymatgen, ASE, sumo and matplotlib (issue #33)",
        "command": "python benchmarks/figure_study.py" + ("" if args.materials == 300 else
                                                           f" --materials {args.materials}"),
        "materials": args.materials, "seed": args.seed, "windows_ev": list(WINDOWS), "profile": PROFILE,
        "n_references": n_references,
        # seconds of this run; the figures earlier, interrupted runs read are cached and not timed again
        "figures": len(frame), "figures_read_this_run": read_now, "seconds": round(elapsed, 1),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "mean_run_queue": sampler.mean, "device": "cpu"},
        "by_style": json.loads(by_style.to_json(orient="records")),
        "by_window": json.loads(by_window.to_json(orient="records")),
        "overall": json.loads(overall.to_json(orient="records")),
        "rows": json.loads(frame.to_json(orient="records")),
    }
    atomic_write_json(args.out, result)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(by_window.round(3).to_string(index=False))
        print(by_style[["set", "style", "window", "n", "axis_read", "iou_median", "within_2px_median",
                        "recall_at_1", "recall_at_10"]].round(3).to_string(index=False))
    print(f"{len(frame)} figures in {elapsed:.0f} s; wrote {args.out}")
    return 0 if frame["read"].any() else 1


if __name__ == "__main__":
    raise SystemExit(main())
