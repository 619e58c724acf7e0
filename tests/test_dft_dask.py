"""The DFT batch on Dask distributed, with real processes: a LocalCluster of two workers, a worker killed with
``kill -9`` in the middle of a material, a real ``dask scheduler`` + ``dask worker`` on 127.0.0.1 driven by
``elf dft --scheduler``, and GPAW missing on the workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import TINY_CELLS

from elfutils.data.dataset import structure_records
from elfutils.data.store import BandStore
from elfutils.dft.batch import (
    DFTUnavailableError,
    Job,
    dask_client,
    read_failures,
    run_dft_batch,
    run_limited,
)

# the tests that need the dft extra (GPAW, ASE, Dask distributed: `make gpaw`) carry the dft marker;
# the rest (numpy and elfutils only) run in `make test-fast` too

TINY = list(TINY_CELLS)
ELF = [sys.executable, "-m", "elfutils.cli"]


def _jobs(ids=TINY):
    records = structure_records()
    return [Job(mid, records[mid]) for mid in ids]


@pytest.mark.dft
def test_two_local_workers_compute_every_material(tmp_path):
    store_path = tmp_path / "two.elfstore"
    counts = run_dft_batch(_jobs(), store_path, workers=2, progress=False)
    assert counts == {"done": 3, "failed": 0, "skipped_done": 0, "skipped_failed": 0}
    store = BandStore(store_path)
    assert sorted(store.ids()) == sorted(TINY)
    assert all(m["attempt"] == 1 and m["energy_zero"] for m in store.metadata())
    assert read_failures(store_path) == []


def _calculation_marker(folder: str):
    """A function for ``client.run``: on each Dask worker it makes every calculation first write
    ``<material>.started`` into ``folder``, holding the pid of the worker it runs for, then compute as usual.
    The file appears once the worker is inside the material's calculation (the forked child of run_limited),
    so the test kills that worker at that moment instead of after a guessed sleep. (A nested function:
    Dask ships it by value; the workers cannot import this test module.)"""

    def install() -> None:
        import os

        from elfutils.dft import batch

        real = batch._compute

        def marked(structure_record, material_id, settings, kpath):
            tmp = os.path.join(folder, f".{material_id}.{os.getpid()}.tmp")
            with open(tmp, "w") as fh:
                fh.write(str(os.getppid()))  # the calculation is a child of the worker process
            os.replace(tmp, os.path.join(folder, f"{material_id}.started"))
            return real(structure_record, material_id, settings, kpath)

        batch._compute = marked

    return install


@pytest.mark.dft
def test_a_worker_killed_mid_material_costs_only_that_attempt(tmp_path):
    store_path = tmp_path / "killed.elfstore"
    started = tmp_path / "started"
    started.mkdir()
    victims: list[str] = []
    with dask_client(workers=2) as client:
        client.run(_calculation_marker(str(started)))
        result: dict = {}
        batch = threading.Thread(target=lambda: result.update(
            run_dft_batch(_jobs(), store_path, progress=False, client=client)))
        batch.start()
        deadline = time.monotonic() + 120
        while not victims and time.monotonic() < deadline and batch.is_alive():
            marker = next(iter(sorted(started.glob("*.started"))), None)
            if marker is None:
                time.sleep(0.02)  # polling for the marker, bounded by the deadline
                continue
            # a worker has started this material's calculation (GPAW's SCF takes seconds): kill it now
            victims.append(marker.name.removesuffix(".started"))
            os.kill(int(marker.read_text()), signal.SIGKILL)
        batch.join(timeout=300)
    assert victims, "no calculation started within 120 s"
    assert not batch.is_alive() and result["done"] == 3 and result["failed"] == 0
    assert sorted(BandStore(store_path).ids()) == sorted(TINY)  # the killed worker's material too
    fails = read_failures(store_path)
    assert len(fails) == 1 and fails[0]["attempt"] == 1 and not fails[0]["final"]
    assert "worker died" in fails[0]["reason"] and fails[0]["material_id"] == victims[0]
    assert fails[0]["status"] == "lost"
    stored = {m["material_id"]: m for m in BandStore(store_path).metadata()}
    assert stored[fails[0]["material_id"]]["attempt"] == 2  # stored by its retry, with the same settings
    assert stored[fails[0]["material_id"]]["settings"] == stored[TINY[0] if fails[0]["material_id"] != TINY[0]
                                                                  else TINY[1]]["settings"]


def test_run_limited_reports_timeouts_crashes_and_errors():
    assert run_limited(sum, ([1, 2],), 10) == ("ok", 3)
    started = time.monotonic()
    status, reason = run_limited(time.sleep, (30,), 0.5)
    assert status == "timeout" and "time limit" in reason and time.monotonic() - started < 10
    status, reason = run_limited(_kill_self, (), 10)
    assert status == "error" and "SIGKILL" in reason
    status, reason = run_limited(_segfault, (), 10)
    assert status == "error" and "SIGSEGV" in reason
    status, reason = run_limited(int, ("x",), 10)
    assert status == "error" and reason.startswith("ValueError")


def _kill_self():
    os.kill(os.getpid(), signal.SIGKILL)  # evaluated in the child: the child dies, as out of memory would


def _segfault():
    import ctypes
    import faulthandler

    faulthandler.disable()  # pytest's handler would print every loaded module of the dying child
    ctypes.string_at(0)


@pytest.fixture
def real_cluster(tmp_path):
    """``dask scheduler`` and one ``dask worker`` as separate programs on 127.0.0.1; yields the address."""
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0", "OMP_NUM_THREADS": "1"}
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(scheduler_file)], env=env, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not scheduler_file.exists():
            time.sleep(0.2)
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                   "--nthreads", "1",
                                   "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1"], env=env,
                                  start_new_session=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        yield address
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.mark.dft
def test_elf_dft_runs_on_a_real_scheduler_and_worker(tmp_path, real_cluster):
    store_path = tmp_path / "remote.elfstore"
    result = subprocess.run([*ELF, "dft", *TINY[:2], "--store", str(store_path), "--scheduler", real_cluster,
                             "--no-progress"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(BandStore(store_path).ids()) == sorted(TINY[:2])
    assert "'done': 2" in result.stdout
    # the environment variable names the same cluster
    again = subprocess.run([*ELF, "dft", TINY[2], "--store", str(store_path), "--no-progress"],
                           env={**os.environ, "ELF_DASK_SCHEDULER": real_cluster}, capture_output=True,
                           text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert sorted(BandStore(store_path).ids()) == sorted(TINY)


@pytest.mark.dft
def test_missing_gpaw_is_one_error_before_any_material(tmp_path):
    """Workers that cannot import GPAW (hidden by a sitecustomize that every worker process loads): one line
    naming the problem and the workers, exit 2, nothing recorded against any material."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoGPAW:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'gpaw' or name.startswith('gpaw.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'gpaw'\")\n"
        "sys.meta_path.insert(0, _NoGPAW())\n")
    store_path = tmp_path / "none.elfstore"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hide), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([*ELF, "dft", *TINY, "--store", str(store_path), "--workers", "1",
                             "--no-progress"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("elf dft:")]
    assert len(lines) == 1 and "GPAW cannot be imported" in lines[0] and "1 of 1 Dask worker" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (store_path / "failures.jsonl").exists() and len(BandStore(store_path)) == 0


def test_dft_inputs_are_checked_before_the_batch(tmp_path):
    missing = subprocess.run([*ELF, "dft", "--ids-file", str(tmp_path / "nope.txt")], capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 2 and "nope.txt: no such ids file" in missing.stderr
    assert "Traceback" not in missing.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    result = subprocess.run([*ELF, "dft", "--ids-file", str(empty)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "names no material" in result.stderr
    unknown = subprocess.run([*ELF, "dft", "2dm-99999999", "--store", str(tmp_path / "u.elfstore")],
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "nothing to compute" in unknown.stderr


def test_a_truncated_structures_file_names_the_line(tmp_path):
    data = tmp_path / "data" / "2dmatpedia-structures"
    data.mkdir(parents=True)
    real = Path(__file__).resolve().parents[1] / "data" / "2dmatpedia-structures" / "structures.jsonl"
    lines = real.read_text().splitlines()
    (data / "structures.jsonl").write_text("\n".join(lines[:3]) + "\n" + lines[3][:40])
    result = subprocess.run([*ELF, "dft", "2dm-1799", "--store", str(tmp_path / "s.elfstore")],
                            env={**os.environ, "ELF_DATA_DIR": str(tmp_path / "data")}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "structures.jsonl: field 'line 4'" in result.stderr and "truncated" in result.stderr


def test_unavailable_error_is_raised_by_the_client_check(monkeypatch):
    from elfutils.dft import batch

    class FakeClient:
        def wait_for_workers(self, n, timeout):
            pass

        def run(self, func):
            return {"tcp://a": "26.7.0", "tcp://b": "missing: GPAW cannot be imported (x)"}

    with pytest.raises(DFTUnavailableError, match=r"GPAW cannot be imported \(x\) — on 1 of 2 .*tcp://b"):
        batch.check_workers(FakeClient())


def test_a_lost_material_is_retried_with_the_same_settings():
    from dataclasses import asdict

    from elfutils.dft.batch import retry_plan
    from elfutils.dft.recipe import DFTSettings

    lost = {"attempt": 1, "status": "lost",
            "reason": "Dask worker died during the calculation (KilledWorker)",
            "settings": asdict(DFTSettings()), "time_limit_s": 900.0}
    assert retry_plan(lost, 1800.0) == (2, DFTSettings(), 900.0)
    failed = {**lost, "status": "error", "reason": "KohnShamConvergenceError: did not converge"}
    assert retry_plan(failed, 1800.0) == (2, DFTSettings().safer(), 1800.0)
