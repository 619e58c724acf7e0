"""The DFT batch on Dask distributed: many materials over any number of workers, resumable at any moment.

* The client (this process) is the only writer: workers return finished band records, and the client appends
  each one to the store as one small atomic part; small parts are merged every so often. Killing the client,
  even with ``kill -9``, loses only the materials in flight; materials already in the store are never
  recomputed.
* By default the batch starts a :class:`~distributed.LocalCluster` (one single-threaded worker process per
  core, ``OMP_NUM_THREADS=1``); ``scheduler="tcp://host:port"`` uses an existing cluster instead (SLURM via
  dask-jobqueue, or ``dask scheduler`` + ``dask worker``), unchanged.
* On the worker each material runs in a forked child process under its time limit, so a hung calculation is
  killed and recorded, and a segfault costs that child only. A worker that dies itself (killed, out of memory)
  costs only its material: the scheduler is told to give up on such a task at once (``allowed-failures``: 0),
  and the client records the attempt ("lost") and retries it once with the same settings.
* A failure (exception, crash) is retried once with :meth:`DFTSettings.retry_after`, a timeout once with the
  same settings and TIMEOUT_RETRY_FACTOR times the time limit; each attempt's reason is appended to
  ``failures.jsonl`` in the store folder (one JSON object per line, fsynced; a torn last line from a kill is
  ignored when read). Materials that failed twice are not retried on resume unless asked; a material whose
  first attempt failed before the batch was stopped resumes with its second attempt. Second attempts run after
  every first attempt, so a batch stopped early has covered the most materials.
* Jobs are submitted in the order given (the command sorts them cheapest first), as many as there are
  worker threads at a time (one each), so the order holds on any cluster and a stopped client has little in
  flight.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import select
import signal
import time
import traceback
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tqdm.auto import tqdm

from elfutils.data.kpath import KPath
from elfutils.data.store import BandStore
from elfutils.dft.recipe import DFTSettings

FAILURES_FILE = "failures.jsonl"
COMPACT_EVERY = 50  # merge small parts after this many new ones
TIMEOUT_RETRY_FACTOR = 2  # a timed-out material is retried once with this many times the time limit
SCHEDULER_ENV = "ELF_DASK_SCHEDULER"  # address of an existing Dask scheduler, as --scheduler
# The local cluster's settings. The scheduler gives up on a task whose worker died at once (the batch records
# and
# retries it itself) and hands each worker one task at a time; the workers' housekeeping is slowed down, since
# their Python threads only wait for a forked calculation: the statistical profiler (a stack sample every 10
# ms)
# and the 20 ms ticks took ~4 % of two cores on an idle cluster, ~0.7 % with these.
CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.scheduler.work-stealing": False,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}
IN_FLIGHT_PER_THREAD = 1  # jobs handed to the scheduler per worker thread: a worker that dies holds only one


class DFTUnavailableError(RuntimeError):
    """GPAW (or Dask) is missing where the batch would run: nothing was tried."""


@dataclass(frozen=True)
class Job:
    material_id: str
    structure_record: dict  # a structures.jsonl record
    kpoints_from: str | None = None  # a band file whose k-path to use instead of our own (read by the client)


# --- the failures file -------------------------------------------------------------------------------------
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
    """(attempt, settings, time limit) of the retry after the failed attempt ``record``: a timeout gets the
    same
    settings and TIMEOUT_RETRY_FACTOR times its limit (a big cell that was converging, only slowly: the safer
    settings turn symmetry off, which would make it slower still); a material whose worker died under it
    ("lost") the same settings and limit; any other failure the safer settings of
    :meth:`DFTSettings.retry_after` and ``time_limit_s``."""
    settings = DFTSettings(**record["settings"])
    status = record.get("status", "timeout" if str(record["reason"]).startswith("time limit") else "error")
    if status == "timeout":
        return record["attempt"] + 1, settings, record["time_limit_s"] * TIMEOUT_RETRY_FACTOR
    # the worker died under it (killed, out of memory, node lost): the material is not at fault
    if status == "lost":
        return record["attempt"] + 1, settings, record["time_limit_s"]
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


# --- on the worker -----------------------------------------------------------------------------------------
def gpaw_version() -> str:
    """GPAW's version where this runs; DFTUnavailableError naming the fix when it is not installed."""
    try:
        import gpaw
    except ImportError as exc:
        raise DFTUnavailableError(f"GPAW cannot be imported ({exc}); install it with make gpaw, or "
                                  "GPAW_CONFIG=scripts/gpaw-siteconfig.py pip install gpaw") from exc
    return gpaw.__version__


def _preload() -> None:
    """Import what every calculation needs, in the worker, so each forked calculation starts with it
    loaded."""
    gpaw_version()
    import ase  # noqa: F401
    import pymatgen.core  # noqa: F401
    from gpaw import GPAW  # noqa: F401


def _compute(structure_record: dict, material_id: str, settings: DFTSettings, kpath: KPath | None):
    from elfutils.dft.recipe import compute_band_structure, structure_from_record

    return compute_band_structure(structure_from_record(structure_record), material_id, settings, kpath=kpath)


def _plain_malloc() -> None:
    """glibc's own heap settings for the calculation: a Dask nanny starts its workers with
    MALLOC_TRIM_THRESHOLD_ set (to give memory back sooner), which switches off glibc's adaptive mmap
    threshold, so every large numpy array is mmapped and zeroed afresh; that cost GPAW ~9 % here. The child
    lives for one material, so it sets the thresholds that glibc would have adapted to (32 MiB)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD


def _die_with_parent() -> None:
    """Linux: have the kernel kill this process when its parent (the Dask worker) dies, so a killed worker
    leaves no orphaned calculation behind."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_limited(func: Callable, args: tuple, time_limit_s: float) -> tuple[str, object]:
    """Run ``func(*args)`` in a forked child within ``time_limit_s``: ("ok", result), ("error", reason) or
    ("timeout", reason). The child sends its pickled answer through a pipe; one that hangs is killed, one that
    crashes is reported with its exit status. ``os.fork`` rather than multiprocessing: a Dask worker is a
    daemonic process, which multiprocessing forbids to have children."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, answer, leave without running the parent's clean-up
        os.close(read_fd)
        _die_with_parent()
        _plain_malloc()
        try:
            answer = ("ok", func(*args))
        except BaseException as exc:  # report everything: the client decides what to do
            tail = traceback.format_exc(limit=3).strip().splitlines()[-1]
            answer = ("error", f"{type(exc).__name__}: {exc} [{tail}]"[:800])
        try:
            with os.fdopen(write_fd, "wb") as fh:
                pickle.dump(answer, fh, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + time_limit_s
    with os.fdopen(read_fd, "rb") as fh:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fh], [], [], min(left, 1.0))[0]:
                if left <= 0:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return "timeout", f"time limit of {time_limit_s:.0f} s exceeded"
                continue
            chunk = os.read(fh.fileno(), 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:
        return "error", f"calculation process died ({_exit_text(status)}; out of memory or a crash?)"


def _exit_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.WEXITSTATUS(status)}"


def compute_job(structure_record: dict, material_id: str, settings: DFTSettings, kpath: KPath | None,
                time_limit_s: float) -> tuple[str, object]:
    """The Dask task: one material, one attempt. GPAW is imported here, in the worker, before the fork, so
    each
    calculation starts with it loaded."""
    os.environ["OMP_NUM_THREADS"] = "1"
    _preload()
    return run_limited(_compute, (structure_record, material_id, settings, kpath), time_limit_s)


# --- the client --------------------------------------------------------------------------------------------
def _kpath_of(job: Job) -> KPath | None:
    if not job.kpoints_from:
        return None
    from elfutils.data.readers import read_band_file

    ref = read_band_file(job.kpoints_from)
    return KPath(ref.kpoints, ref.branches, {})


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A Dask client: connected to ``scheduler`` (or $ELF_DASK_SCHEDULER) when given, else to a new
    LocalCluster of ``workers`` single-threaded processes (default: one per core) with CLUSTER_CONFIG (for an
    existing cluster, the README shows the same settings as environment variables)."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise DFTUnavailableError(f"Dask distributed is not installed ({exc}); pip install distributed (or: "
                                  f"pip install 'elfutils[dft]')") from exc

    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        with Client(address, timeout="30s") as client:
            yield client
        return
    with dask.config.set(CLUSTER_CONFIG), \
         LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                      dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},  # any free port
                      env={"OMP_NUM_THREADS": "1"}, silence_logs=40) as cluster, \
         Client(cluster) as client:
        yield client


def check_workers(client) -> dict[str, str]:
    """GPAW's version on every worker; DFTUnavailableError (naming the workers) when one lacks it, so that a
    missing install is one clear error before any material is tried."""
    client.wait_for_workers(1, timeout=120)
    answers = client.run(_gpaw_or_reason)
    missing = {w: v for w, v in answers.items() if v.startswith("missing:")}
    if missing:
        reason = next(iter(missing.values())).removeprefix("missing: ")
        raise DFTUnavailableError(f"{reason} — on {len(missing)} of {len(answers)} Dask worker(s): "
                                  f"{', '.join(sorted(missing))}")
    return answers


def _gpaw_or_reason() -> str:
    try:
        return gpaw_version()
    except DFTUnavailableError as exc:
        return f"missing: {exc}"


def _worker_threads(client) -> int:
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


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
    client=None,
    scheduler: str | None = None,
) -> dict:
    """Compute every job not yet in the store, and those in ``redo`` again (stored with settings that have
    changed since; the new result supersedes the old in the store), on ``client`` (a Dask client), or on the
    cluster at ``scheduler``, or on a new LocalCluster of ``workers`` processes. Returns counts {done, failed,
    skipped_done, skipped_failed}. Raises DFTUnavailableError before trying anything when GPAW is missing."""
    store_path = Path(store_path)
    store = BandStore(store_path)
    settings = settings or DFTSettings()
    done = set(store.ids()) - set(redo)
    given_up = set() if retry_failed else set(final_failures(store_path))
    todo = [j for j in jobs if j.material_id not in done and j.material_id not in given_up]
    counts = {"done": 0, "failed": 0, "skipped_done": sum(j.material_id in done for j in jobs),
              "skipped_failed": sum(j.material_id in given_up and j.material_id not in done for j in jobs)}
    if not todo:
        return counts
    pending = pending_retries(store_path)
    queue = [_first_attempt(job, settings, time_limit_s, pending) for job in todo]
    # second attempts go last (those pending from a stopped run too): they are the slow and the stubborn ones,
    # and a batch stopped early has then covered as many materials as it could
    queue.sort(key=lambda entry: entry[1] > 1)  # stable: the given order within each group
    queue.reverse()  # pop() from the end keeps that order
    if client is None:
        with dask_client(scheduler, workers) as own:
            return _run(own, queue, store, counts, time_limit_s, progress, on_result, len(todo))
    return _run(client, queue, store, counts, time_limit_s, progress, on_result, len(todo))


def _run(client, queue: list, store: BandStore, counts: dict, time_limit_s: float, progress: bool,
         on_result: Callable | None, total: int) -> dict:
    from distributed import as_completed

    check_workers(client)
    store_path = store.path
    in_flight: dict = {}  # future -> (job, attempt, settings, time limit)
    finished = as_completed()
    parts_since_compact = 0
    bar = tqdm(total=total, desc="DFT", unit="mat", disable=not progress, smoothing=0.05)

    def submit_more() -> None:
        while queue and len(in_flight) < IN_FLIGHT_PER_THREAD * _worker_threads(client):
            job, attempt, job_settings, limit = queue.pop()
            future = client.submit(compute_job, job.structure_record, job.material_id, job_settings,
                                   _kpath_of(job), limit,
                                   key=f"dft-{job.material_id}-{attempt}-{time.time_ns()}",
                                   pure=False)
            in_flight[future] = (job, attempt, job_settings, limit)
            finished.add(future)

    def record_failure(job: Job, attempt: int, job_settings: DFTSettings, limit: float, status: str,
                       reason: str) -> None:
        final = attempt >= 2
        record = {
            "material_id": job.material_id, "attempt": attempt, "final": final, "status": status,
            "reason": reason, "settings": asdict(job_settings), "time_limit_s": limit,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        _append_failure(store_path, record)
        if final:
            counts["failed"] += 1
            bar.update(1)
        else:
            queue.insert(0, (job, *retry_plan(record, time_limit_s)))  # last in line: see above

    try:
        submit_more()
        for future in finished:
            job, attempt, job_settings, limit = in_flight.pop(future)
            try:
                status, payload = future.result()
            except Exception as exc:
                status = "lost"
                payload = f"Dask worker died during the calculation ({type(exc).__name__}: {exc})"
            if status == "ok":
                record = replace(payload, metadata={**payload.metadata, "attempt": attempt})
                store.append([record])
                parts_since_compact += 1
                counts["done"] += 1
                bar.update(1)
                if on_result:
                    on_result(record)
            else:
                record_failure(job, attempt, job_settings, limit, status, str(payload)[:800])
            if parts_since_compact >= COMPACT_EVERY:
                store.compact()
                parts_since_compact = 0
            submit_more()
    finally:
        for future in in_flight:
            future.cancel()
        bar.close()
        store.compact()
    return counts
