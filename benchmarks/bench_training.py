"""Training and encoding speed of the elf autoencoder: plain baseline vs. the optimised path, in one run.

    python benchmarks/bench_training.py                 # ~1-3 min on a 2-core CPU
    python benchmarks/bench_training.py --repeats 3 --train-steps 6 --encode-images 256   # steadier figures

(a) baseline: the paper's network as one would first write it -- 3 redundant RGB input channels, fp32, NCHW,
    eager, torch's default AdamW and allocator, images already unpacked to float.
(b) optimised: what `elf train` / `elf encode` run -- elfutils.nn.training.training_step on bit-packed images
    held in memory (unpacked and noised per batch), 1 input channel, channels-last, bf16 autocast where the
    device has native bf16, fused AdamW, glibc told to keep freed memory; encoding with BN folded into the
    convolutions, in fp32 (the default) and bf16.

Each mode runs in its own fresh process (no shared allocator, thread or oneDNN-cache state), baseline and
optimised alternating when --repeats > 1; figures are medians. Synthetic random binary 224 x 224 images: speed
does not depend on content. Besides wall-clock images/s the workers report images per CPU-second; with
--threads 1 that is little affected by other jobs on the machine (with more threads a thread waiting for a
descheduled partner spins, so it is not). The load average is recorded before and after each worker.

Writes benchmarks/results/training-<device>[-<n>thread].json (device "cpu" or "cuda") for the book.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("baseline", "optimised")


# --- worker: one mode, in its own process -------------------------------------------------------------------


def _sync(device):
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _timed(fn, device):
    """(wall seconds, CPU seconds of this process) of fn()."""
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    _sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def worker(mode: str, args) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from elfutils.nn.model import ElfAutoencoder, ElfConfig
    from elfutils.nn.training import (
        encode_images,
        keep_freed_memory,
        make_optimizer,
        resolve_precision,
        training_step,
    )

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    rng = np.random.default_rng(0)
    n_train = args.batch_size * (args.warmup_steps + args.train_steps)
    images = (rng.random((max(n_train, args.encode_images), 224, 224)) < 0.05).astype(np.uint8)
    torch.manual_seed(0)
    result = {"mode": mode, "threads": torch.get_num_threads(), "load_before": os.getloadavg()}

    if mode == "baseline":
        config = ElfConfig(in_channels=3)
        model = ElfAutoencoder(config).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
        x_all = torch.from_numpy(images[:n_train]).float().unsqueeze(1).expand(-1, 3, -1, -1).contiguous()

        def step(i):
            x = x_all[i * args.batch_size : (i + 1) * args.batch_size].to(device)
            loss = F.binary_cross_entropy_with_logits(model(x), x[:, :1])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        def encode(batch):
            model.eval()
            with torch.no_grad():
                for start in range(0, len(batch), 64):
                    x = torch.from_numpy(batch[start : start + 64]).float().unsqueeze(1).expand(-1, 3, -1, -1)
                    model.fingerprint(x.contiguous().to(device)).cpu()

        encoders = {"fp32": encode}
        result["precision"] = "fp32"
    else:
        if torch.device(device).type == "cpu":
            keep_freed_memory()
        config = ElfConfig()
        precision = resolve_precision("auto", device)
        model = ElfAutoencoder(config).to(device, memory_format=torch.channels_last)
        if args.compile:
            model.compile()
        optimizer = make_optimizer(model, config, device)
        packed = torch.from_numpy(np.packbits(images[:n_train], axis=-1)).to(device)
        generator = torch.Generator(device=device).manual_seed(0)

        def step(i):
            batch = packed[i * args.batch_size : (i + 1) * args.batch_size]
            training_step(model, optimizer, batch, generator, config.learning_rate, precision)

        encoders = {
            p: (lambda batch, p=p: encode_images(model, batch, 64, precision=p)) for p in ("fp32", "bf16")
        }
        if resolve_precision("auto", device) != "bf16":
            encoders.pop("bf16")
        result["precision"] = precision

    model.train()
    warm = [_timed(lambda i=i: step(i), device) for i in range(args.warmup_steps)]
    steps = range(args.warmup_steps, args.warmup_steps + args.train_steps)
    timed = [_timed(lambda i=i: step(i), device) for i in steps]
    wall, cpu = sum(t[0] for t in timed), sum(t[1] for t in timed)
    n = args.batch_size * args.train_steps
    result.update(warmup_s=round(sum(t[0] for t in warm), 2), train_img_s=n / wall, train_img_cpu_s=n / cpu)

    for precision, encode in encoders.items():
        encode(images[:16])  # warm-up: primitive creation, first allocations
        wall, cpu = _timed(lambda encode=encode: encode(images[: args.encode_images]), device)
        result[f"encode_{precision}_img_s"] = args.encode_images / wall
        result[f"encode_{precision}_img_cpu_s"] = args.encode_images / cpu
    result["load_after"] = os.getloadavg()
    return result


# --- parent: run the workers, summarise, write JSON ---------------------------------------------------------


def _device_name(device: str) -> str:
    import torch

    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _runnable() -> str:
    """Runnable/total scheduling entities right now (4th field of /proc/loadavg), e.g. '3/180'."""
    try:
        return Path("/proc/loadavg").read_text().split()[3]
    except (OSError, IndexError):
        return "n/a"


def _run_worker(mode: str, args) -> dict:
    command = [sys.executable, __file__, "--worker", mode, "--device", args.device,
               "--batch-size", str(args.batch_size), "--warmup-steps", str(args.warmup_steps),
               "--train-steps", str(args.train_steps), "--encode-images", str(args.encode_images),
               "--threads", str(args.threads)] + (["--compile"] if args.compile else [])  # fmt: skip
    runnable = _runnable()
    # sample the run queue while the worker runs: entities beyond this process and the worker's threads are
    # other jobs taking CPU from the measurement (the load average lags by minutes, so it cannot tell)
    others = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        while proc.poll() is None:
            try:
                running = int(_runnable().split("/")[0])
            except ValueError:
                running = 0
            others.append(max(0, running - 1 - max(args.threads, 1)))
            time.sleep(0.5)
        stdout, stderr = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{mode} worker failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["runnable_at_start"] = runnable
    result["other_runnable_mean"] = round(statistics.fmean(others), 2) if others else 0.0
    print(f"  {mode:9s} train {result['train_img_s']:6.2f} img/s   "
          f"encode fp32 {result['encode_fp32_img_s']:6.1f} img/s   load {result['load_before'][0]:.2f}",
          file=sys.stderr, flush=True)  # fmt: skip
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", help="cpu, cuda, ... (default: ELF_DEVICE, else CUDA if present)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--warmup-steps", type=int, default=1, help="untimed training steps first")
    parser.add_argument("--train-steps", type=int, default=3, help="timed training steps per worker")
    parser.add_argument("--encode-images", type=int, default=128, help="images encoded per mode, precision")
    parser.add_argument("--repeats", type=int, default=1, help="baseline/optimised pairs; reports medians")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--compile", action="store_true", help="also torch.compile the optimised model")
    parser.add_argument("--out", type=Path, help="JSON (default results/training-<device>[-<n>thread].json)")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
    from elfutils import paths

    args.device = args.device or paths.default_device()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return 0

    import torch

    kind = torch.device(args.device).type
    started = time.time()
    load_start = os.getloadavg()
    name = _device_name(args.device)
    print(f"benchmarking on {name} ({kind}), load average {load_start[0]:.2f}", file=sys.stderr)
    runs = [_run_worker(mode, args) for _ in range(args.repeats) for mode in MODES]

    def median(mode, key):
        values = [r[key] for r in runs if r["mode"] == mode and key in r]
        return statistics.median(values) if values else None

    metrics = ["train_img_s", "train_img_cpu_s", "encode_fp32_img_s", "encode_fp32_img_cpu_s",
               "encode_bf16_img_s", "encode_bf16_img_cpu_s"]  # fmt: skip
    summary = {mode: {m: median(mode, m) for m in metrics if median(mode, m) is not None} for mode in MODES}
    base, opt = summary["baseline"], summary["optimised"]
    ratios = {m: opt[m] / base[m] for m in metrics if m in base and m in opt}
    if "encode_bf16_img_s" in opt:
        ratios["encode_bf16_vs_baseline_img_s"] = opt["encode_bf16_img_s"] / base["encode_fp32_img_s"]
    encode_2000 = {p: 2000 / opt[f"encode_{p}_img_s"] for p in ("fp32", "bf16") if f"encode_{p}_img_s" in opt}

    print(f"\n{'':28s}{'baseline':>12s}{'optimised':>12s}{'ratio':>9s}")
    labels = {"train_img_s": "train img/s", "train_img_cpu_s": "train img/CPU-s"}
    for p in ("fp32", "bf16"):
        labels[f"encode_{p}_img_s"] = f"encode {p} img/s"
        labels[f"encode_{p}_img_cpu_s"] = f"encode {p} img/CPU-s"
    for m in metrics:
        b = f"{base[m]:12.2f}" if m in base else f"{'-':>12s}"
        o = f"{opt[m]:12.2f}" if m in opt else f"{'-':>12s}"
        r = f"{ratios[m]:8.2f}x" if m in ratios else ""
        print(f"{labels[m]:28s}{b}{o}{r}")
    if ratios.get("encode_bf16_vs_baseline_img_s"):
        print(f"{'encode bf16 vs baseline':28s}{'':24s}{ratios['encode_bf16_vs_baseline_img_s']:8.2f}x")
    for p, seconds in encode_2000.items():
        print(f"elf encode, 2000 images ({p}): ~{seconds:.0f} s")
    print(f"device: {_device_name(args.device)} ({kind}), {runs[0]['threads']} threads; "
          f"load average {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end")  # fmt: skip

    contended = any(r["other_runnable_mean"] > 0.25 for r in runs)
    if contended:
        print("warning: other jobs were runnable during the measurement and shared the CPU, so img/s is "
              "low; img/CPU-s (and --threads 1) is the steadier comparison")  # fmt: skip
    report = {
        "benchmark": "benchmarks/bench_training.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "device": kind,
        "device_name": _device_name(args.device),
        "cpu_count": os.cpu_count(),
        "threads": runs[0]["threads"],
        "torch": torch.__version__,
        "python": platform.python_version(),
        "settings": {
            k: getattr(args, k)
            for k in ("batch_size", "warmup_steps", "train_steps", "encode_images", "repeats", "compile")
        },
        "image_size": 224,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        # other jobs had the CPU if, on average over a worker's run, more than a quarter of a runnable job
        # besides the benchmark was waiting (run queue sampled every 0.5 s: other_runnable_mean per run)
        "contended": contended,
        "note": "other_runnable_mean = runnable jobs besides this benchmark, sampled every 0.5 s during each "
        "worker; above 0 other jobs took CPU from it, which lowers img/s. img/CPU-s (process CPU time) is "
        "steady under such load only with --threads 1: with more threads, one waiting for a descheduled "
        "partner spins and burns CPU time. Load averages lag by minutes and are kept for reference.",
        "summary": summary,
        "ratios_optimised_over_baseline": ratios,
        "encode_2000_images_s": encode_2000,
        "runs": runs,
        "wall_s": round(time.time() - started, 1),
    }
    suffix = f"-{args.threads}thread" if args.threads else ""
    out = args.out or RESULTS / f"training-{kind}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
