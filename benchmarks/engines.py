"""Every inference engine on this machine: speed, quality against fp32, memory, conversion time.

    .venv/bin/python benchmarks/engines.py [--engines pytorch,openvino-int8,...] [--quick]

Prints one table (``make bench``), headed by what the figures depend on: the CPU's model, its ISA
flags, what OpenVINO runs natively on it, and a measured fp32 GEMM rate; each engine's speed is
also given as a ratio to PyTorch eager in the same run, so that tables from different machines
can be compared. ``auto`` is measured like the others, shown as ``auto->ENGINE``, and the short
timing it made when it built the engines (:mod:`alexnet_gui.core.engines.speed`) is printed under
the table. Each engine is converted in a fresh process with an empty
cache (the one-off conversion time), then measured in another that loads it from that cache, so
each memory figure belongs to one engine alone. The columns:

* batch-1 ms: median latency of ``classify_prepared`` on one 224x224 input (engine + softmax);
* batch-32 img/s: the same with 32 inputs;
* x pt b1 / x pt b32: how many times faster than PyTorch eager at batch 1 / batch 32;
* e2e img/s: ``classify_paths`` over a folder of 640x480 JPEGs (read, decode, resize, model);
* agreement / acc delta: top-1 against PyTorch fp32 and the change in accuracy, on the 3000
  Fashion-MNIST test images, with a model trained for it (``engines_data.py``);
* +MB: resident memory the engine adds once it has run batch 1 and 32 (over the process with
  torch, about 900 MB, and the fp32 model the app always keeps for inspect() and Grad-CAM);
* peak MB: the measuring process's peak, loading the checkpoint included;
* convert s: the first load (calibration, conversion, the check against fp32, the short timing;
  for ``auto``, of every engine it may pick); load s: a later load from the cache (hashing the
  weights, reading the manifests, verifying the files, compiling);
* photos: secondary, top-1 agreement on crops of real photos with a random-weight ImageNet model.

Goals (issue #8, on its AVX-512 VNNI reference CPU): batch 1 <= 2 ms, batch 32 >= 1000 img/s,
e2e >= 300 img/s, agreement >= 98%, accuracy within 0.5 points; (issue #14, on any CPU) ``auto``'s
batch-1 latency within 10% of the fastest engine that keeps the bar. Speed is measured here only,
never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as alexnet_gui.runtime does, pre-torch

import engines_data
import torch
from timing import times_ms

from alexnet_gui.core.engines import cpu
from alexnet_gui.core.engines.names import ENGINES, QUALITY_BAR, timings_text

MEASURED = (*(name for name in ENGINES if name != "auto"), "auto")
GEMM_SIZE = 1024


def _median_ms(fn: Callable[[], object], repeat: int, warmup: int) -> float:
    return statistics.median(times_ms(fn, repeat, warmup))


def _peak_mb() -> float:
    """VmHWM: this process's own peak (``ru_maxrss`` can carry a parent's over fork and exec)."""
    with open("/proc/self/status") as handle:
        line = next(line for line in handle if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024.0


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def convert(engine: str, checkpoint: Path) -> dict:
    """In a fresh process with an empty cache: conversion time, then the random-model check."""
    from PIL import Image  # noqa: F401  (imported before timing, as the app has it)

    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.models.architectures import build_model
    from alexnet_gui.core.models.weights import LoadedModel, imagenet_spec, load_weights

    loaded = load_weights(checkpoint)
    start = time.perf_counter()
    classifier = Classifier(loaded, device="cpu", engine=engine)
    seconds = time.perf_counter() - start
    result = {"conversion_s": seconds, "active": classifier.engine.name,
              "timings": classifier.engine.timings_ms(), "decision": classifier.engine.decision}
    torch.manual_seed(0)
    random_model = build_model("torchvision", num_classes=1000).eval()
    reference = Classifier(LoadedModel(random_model, imagenet_spec()), device="cpu")
    other = Classifier(LoadedModel(random_model, imagenet_spec()), device="cpu", engine=engine)
    views = engines_data.photo_views()
    same = [
        a.top1.index == b.top1.index
        for a, b in zip(reference.classify_batch(views), other.classify_batch(views), strict=True)
    ]
    result["photos"] = sum(same) / len(same)
    return result


def measure(engine: str, checkpoint: Path, quick: bool) -> dict:
    """In a process whose cache holds the engine: speed, quality, peak memory."""
    from alexnet_gui.core.imaging.decode import find_images
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.inference.folder import classify_paths
    from alexnet_gui.core.models.weights import load_weights

    loaded = load_weights(checkpoint)
    before = _rss_mb()  # torch (about 900 MB here) and the fp32 model the app always keeps
    start = time.perf_counter()
    classifier = Classifier(loaded, device="cpu", engine=engine)
    load_s = time.perf_counter() - start
    pre = classifier.spec.preprocessing
    paths, labels, _ = engines_data.labelled(engines_data.fashion_mnist() / "val")
    if quick:
        paths, labels = paths[::10], labels[::10]
    many = engines_data.inputs(paths[:32], pre)
    one = many[:1]
    repeat = 15 if quick else 60
    result = {
        "active": classifier.engine.name,
        "load_s": load_s,
        "batch1_ms": _median_ms(lambda: classifier.classify_prepared(one), repeat, 10),
        "batch32_ips": 32000.0 / _median_ms(lambda: classifier.classify_prepared(many), 15, 3),
    }
    result["engine_mb"] = _rss_mb() - before
    jpegs = find_images([engines_data.jpeg_folder()])
    e2e = _median_ms(lambda: list(classify_paths(classifier, jpegs)), 2 if quick else 3, 1)
    result["e2e_ips"] = len(jpegs) / (e2e / 1000.0)
    with torch.inference_mode():  # a chunk at a time, so the data does not inflate peak memory
        logits = torch.cat(
            [
                classifier.engine.run(engines_data.inputs(paths[start : start + 32], pre)).float()
                for start in range(0, len(paths), 32)
            ]
        )
    result["logits"] = logits.argmax(1).tolist()
    result["accuracy"] = float((logits.argmax(1) == torch.tensor(labels)).float().mean())
    result["peak_mb"] = _peak_mb()
    return result


def gemm_gflops(size: int = GEMM_SIZE, seconds: float = 1.0) -> float:
    """fp32 matrix-multiply rate with torch's threads: what the CPU gives dense maths here."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    samples = times_ms(lambda: torch.mm(a, b), 3, 2)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        samples += times_ms(lambda: torch.mm(a, b), 1, 0)
    return 2.0 * size**3 / (statistics.median(samples) / 1000.0) / 1e9


def _machine_lines() -> list[str]:
    native = sorted(cpu.capabilities()) or ["(OpenVINO not installed)"]
    cap = os.environ.get(cpu.ISA_CAP_ENV)
    return [
        f"CPU: {cpu.cpu_model()} ({os.cpu_count()} logical CPUs, torch threads "
        f"{torch.get_num_threads()})",
        f"ISA: {' '.join(cpu.isa_flags()) or 'unknown'}"
        + (f"  ({cpu.ISA_CAP_ENV}={cap})" if cap else ""),
        f"OpenVINO runs natively: {' '.join(native)}",
        f"fp32 GEMM {GEMM_SIZE}x{GEMM_SIZE}: {gemm_gflops():.0f} GFLOP/s",
    ]


def _child(mode: str, engine: str, checkpoint: Path, cache: Path, quick: bool) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("ALEXNET_GUI_ENGINE", None)
    command = [sys.executable, __file__, f"--{mode}", engine, "--checkpoint", str(checkpoint)]
    done = subprocess.run(
        [*command, *(["--quick"] if quick else [])], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} {engine} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default=",".join(MEASURED))
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a tenth of the data")
    parser.add_argument("--convert", metavar="ENGINE", help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="ENGINE", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.convert:
        print(json.dumps(convert(args.convert, args.checkpoint)))
        return
    if args.measure:
        print(json.dumps(measure(args.measure, args.checkpoint, args.quick)))
        return

    checkpoint = engines_data.trained_checkpoint()
    engines_data.jpeg_folder()
    names = [name for name in args.engines.split(",") if name]
    if "pytorch" not in names:
        names.insert(0, "pytorch")  # the reference the others are compared with
    machine = _machine_lines()  # before the children: the GEMM rate of a quiet process
    load_before = os.getloadavg()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="alexnet-gui-bench-") as temporary:
        for name in names:
            cache = Path(temporary) / name
            built = _child("convert", name, checkpoint, cache, args.quick)
            rows[name] = {**built, **_child("measure", name, checkpoint, cache, args.quick)}
    _print_table(rows, load_before, args.quick, machine)


def _print_table(
    rows: dict, load_before: tuple[float, float, float], quick: bool, machine: list[str]
) -> None:
    reference = rows["pytorch"]
    for line in machine:
        print(line)
    print(
        f"load average before: {load_before[0]:.2f}  after: {os.getloadavg()[0]:.2f}  "
        f"{'(quick)' if quick else ''}"
    )
    print(
        f"{'engine':<22}{'batch-1 ms':>11}{'x pt b1':>8}{'b32 img/s':>10}{'x pt b32':>9}"
        f"{'e2e img/s':>10}{'agree':>8}{'acc Δ pt':>9}{'+MB':>6}{'peak MB':>8}{'convert s':>10}"
        f"{'load s':>7}{'photos':>8}"
    )
    agreements = {}
    for name, row in rows.items():
        same = sum(a == b for a, b in zip(row["logits"], reference["logits"], strict=True))
        agree = agreements[name] = same / len(reference["logits"])
        delta = (row["accuracy"] - reference["accuracy"]) * 100.0
        shown = name if row["active"] == name else f"{name}->{row['active']}"
        print(
            f"{shown:<22}{row['batch1_ms']:>11.2f}"
            f"{reference['batch1_ms'] / row['batch1_ms']:>8.2f}{row['batch32_ips']:>10.0f}"
            f"{row['batch32_ips'] / reference['batch32_ips']:>9.2f}{row['e2e_ips']:>10.0f}"
            f"{agree:>8.1%}{delta:>+9.2f}{row['engine_mb']:>6.0f}{row['peak_mb']:>8.0f}"
            f"{row['conversion_s']:>10.1f}{row['load_s']:>7.2f}"
            f"{row['photos']:>8.1%}"
        )
    count = len(reference["logits"])
    print(
        f"fp32 accuracy {reference['accuracy']:.1%} on {count} Fashion-MNIST test images; "
        "goals: batch-1 <= 2 ms, b32 >= 1000 img/s, e2e >= 300 img/s, agree >= 98%, |Δ| <= 0.5"
    )
    if "auto" in rows:
        auto = rows["auto"]
        keeping = [n for n in rows if n != "auto" and agreements[n] >= QUALITY_BAR]
        best = min(keeping, key=lambda n: rows[n]["batch1_ms"], default=None)
        if best is not None:
            ratio = auto["batch1_ms"] / rows[best]["batch1_ms"]
            print(f"auto took {auto['active']}: batch-1 {ratio:.2f}x the fastest engine here that "
                  f"keeps the bar ({best}); goal <= 1.10")
        print(f"auto's own timing when it built them: {timings_text(auto['timings'])}")
        print(f"auto's decision: {auto['decision']}")


if __name__ == "__main__":
    main()
