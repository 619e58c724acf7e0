"""The DFT batch: many materials, N worker processes, resumable at any moment.

* Finished materials go into the band store one small part at a time (atomic), so killing the batch — even
  with ``kill -9`` — loses only the materials being computed; small parts are merged every so often.
* Materials already in the store are never recomputed.
* A failure (exception, crash) is retried once with :meth:`DFTSettings.retry_after`, a timeout once with the same
  settings and TIMEOUT_RETRY_FACTOR times the time limit; each attempt's reason
  is appended to ``failures.jsonl`` in the store folder (one JSON object per line, fsynced; a torn last line
  from a kill is ignored when read). Materials that failed twice are not retried on resume unless asked; a
  material whose first attempt failed before the batch was stopped resumes with its second attempt. Second
  attempts run after every first attempt, so a batch stopped early has covered the most materials.
* Each material runs in its own forked process with ``OMP_NUM_THREADS=1``: a hung or crashed calculation is
  killed at its time limit without taking the batch down, and two workers on two cores do not slow each other.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tqdm.auto import tqdm

from elfutils.dft import DFTSettings, compute_band_structure
from elfutils.store import BandStore

FAILURES_FILE = "failures.jsonl"
COMPACT_EVERY = 50  # merge small parts after this many new ones


TIMEOUT_RETRY_FACTOR = 2  # a timed-out material is retried once with this many times the time limit


@dataclass(frozen=True)
class Job:
    material_id: str
    structure_record: dict  # a structures.jsonl record
    kpoints_from: str | None = None  # a band file whose k-path to use instead of our own


def read_failures(store_path: str | Path) -> list[dict]:
    """All recorded failed attempts (a torn last line from a killed batch is skipped)."""
    path = Path(store_path) / FAILURES_FILE
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _unstored_failures(store_path: str | Path) -> list[dict]:
    """The recorded failed attempts of materials that are not in the store (none succeeded later)."""
    done = set(BandStore(store_path).ids())
    return [rec for rec in read_failures(store_path) if rec["material_id"] not in done]


def final_failures(store_path: str | Path) -> dict[str, dict]:
    """Materials whose every attempt failed (last attempt's record), minus any that later succeeded."""
    return {rec["material_id"]: rec for rec in _unstored_failures(store_path) if rec.get("final")}


def pending_retries(store_path: str | Path) -> dict[str, dict]:
    """Materials whose last recorded attempt failed but was not final (the batch stopped before the retry),
    minus any stored since: material id -> that attempt's failure record."""
    last = {rec["material_id"]: rec for rec in _unstored_failures(store_path)}
    return {mid: rec for mid, rec in last.items() if not rec.get("final")}


def retry_plan(record: dict, time_limit_s: float) -> tuple[int, DFTSettings, float]:
    """(attempt, settings, time limit) of the retry after the failed attempt ``record``: a timeout gets the same
    settings and TIMEOUT_RETRY_FACTOR times its limit (a big cell that was converging, only slowly: the safer
    settings turn symmetry off, which would make it slower still); any other failure the safer settings of
    :meth:`DFTSettings.retry_after` and ``time_limit_s``."""
    settings = DFTSettings(**record["settings"])
    if record.get("status", "timeout" if str(record["reason"]).startswith("time limit") else "error") == "timeout":
        return record["attempt"] + 1, settings, record["time_limit_s"] * TIMEOUT_RETRY_FACTOR
    return record["attempt"] + 1, settings.retry_after(str(record["reason"])), time_limit_s


def _first_attempt(job: Job, settings: DFTSettings, time_limit_s: float, pending: dict) -> tuple:
    """The queue entry of a job: its second attempt when its first, with these settings, failed in an earlier
    run (not when the settings have changed since)."""
    if job.material_id in pending and pending[job.material_id].get("settings") == asdict(settings):
        try:
            return (job, *retry_plan(pending[job.material_id], time_limit_s))
        except (KeyError, TypeError, ValueError):  # a record from older code: start afresh
            pass
    return job, 1, settings, time_limit_s


def _append_failure(store_path: Path, record: dict) -> None:
    store_path.mkdir(parents=True, exist_ok=True)
    path = store_path / FAILURES_FILE
    # a line torn by a kill has no newline: end it first, or this record would be glued onto it and lost
    torn = False
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            torn = fh.read(1) != b"\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(("\n" if torn else "") + json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _worker(job: Job, settings: DFTSettings, conn) -> None:
    """Child process: compute one material, send ('ok', record) or ('error', reason)."""
    try:
        from elfutils.dft import structure_from_record
        from elfutils.kpath import KPath

        structure = structure_from_record(job.structure_record)
        kpath = None
        if job.kpoints_from:
            from elfutils.readers import read_band_file

            ref = read_band_file(job.kpoints_from)
            kpath = KPath(ref.kpoints, ref.branches, {})
        record = compute_band_structure(structure, job.material_id, settings, kpath=kpath)
        conn.send(("ok", record))
    except BaseException as exc:  # report everything: the parent decides what to do
        tail = traceback.format_exc(limit=3).strip().splitlines()[-1]
        conn.send(("error", f"{type(exc).__name__}: {exc} [{tail}]"[:800]))
    finally:
        conn.close()


@dataclass
class _Running:
    job: Job
    attempt: int
    settings: DFTSettings
    process: mp.Process
    conn: object
    started: float
    time_limit_s: float


def run_dft_batch(
    jobs: list[Job],
    store_path: str | Path,
    workers: int | None = None,
    time_limit_s: float = 1800.0,
    settings: DFTSettings | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    on_result: Callable | None = None,
    redo: Collection[str] = (),
) -> dict:
    """Compute every job not yet in the store, and those in ``redo`` again (stored with settings that have
    changed since; the new result supersedes the old in the store). Returns counts {done, failed,
    skipped_done, skipped_failed}."""
    os.environ["OMP_NUM_THREADS"] = "1"
    store_path = Path(store_path)
    store = BandStore(store_path)
    settings = settings or DFTSettings()
    workers = workers or os.cpu_count() or 1
    done = set(store.ids()) - set(redo)
    given_up = set() if retry_failed else set(final_failures(store_path))
    todo = [j for j in jobs if j.material_id not in done and j.material_id not in given_up]
    counts = {"done": 0, "failed": 0, "skipped_done": sum(j.material_id in done for j in jobs),
              "skipped_failed": sum(j.material_id in given_up and j.material_id not in done for j in jobs)}
    ctx = mp.get_context("fork")
    pending = pending_retries(store_path)
    queue = [_first_attempt(job, settings, time_limit_s, pending) for job in todo]
    # second attempts go last (those pending from a stopped run too): they are the slow and the stubborn ones,
    # and a batch stopped early has then covered as many materials as it could
    queue.sort(key=lambda entry: entry[1] > 1)  # stable: the given order within each group
    queue.reverse()  # pop() from the end keeps that order
    running: list[_Running] = []
    parts_since_compact = 0
    bar = tqdm(total=len(todo), desc="DFT", unit="mat", disable=not progress, smoothing=0.05)

    def start_next():
        job, attempt, job_settings, limit = queue.pop()
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker, args=(job, job_settings, child), daemon=True)
        proc.start()
        child.close()
        running.append(_Running(job, attempt, job_settings, proc, parent, time.monotonic(), limit))

    def finish(run: _Running, status: str, payload) -> None:
        nonlocal parts_since_compact
        run.process.join(timeout=5)
        if run.process.is_alive():
            run.process.kill()
            run.process.join()
        if status == "ok":
            payload = replace(payload, metadata={**payload.metadata, "attempt": run.attempt})
            store.append([payload])
            parts_since_compact += 1
            counts["done"] += 1
            bar.update(1)
            if on_result:
                on_result(payload)
            return
        final = run.attempt >= 2
        record = {
            "material_id": run.job.material_id, "attempt": run.attempt, "final": final, "status": status,
            "reason": payload, "settings": asdict(run.settings), "time_limit_s": run.time_limit_s,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        _append_failure(store_path, record)
        if final:
            counts["failed"] += 1
            bar.update(1)
        else:
            queue.insert(0, (run.job, *retry_plan(record, time_limit_s)))  # last in line: see above

    try:
        while queue or running:
            while queue and len(running) < workers:
                start_next()
            time.sleep(0.2)
            for run in list(running):
                if run.conn.poll():
                    try:
                        status, payload = run.conn.recv()
                    except (EOFError, OSError):
                        status, payload = "error", f"worker exited with code {run.process.exitcode} (crash?)"
                    running.remove(run)
                    finish(run, status, payload)
                elif not run.process.is_alive():
                    running.remove(run)
                    finish(run, "error", f"worker died with exit code {run.process.exitcode} (out of memory?)")
                elif time.monotonic() - run.started > run.time_limit_s:
                    run.process.kill()
                    running.remove(run)
                    finish(run, "timeout", f"time limit of {run.time_limit_s:.0f} s exceeded")
            if parts_since_compact >= COMPACT_EVERY:
                store.compact()
                parts_since_compact = 0
    finally:
        for run in running:
            run.process.kill()
        bar.close()
        store.compact()
    return counts
