"""Exported models on this CPU: export time and file size, and batch-1 latency of the exported
files in ONNX Runtime and OpenVINO next to PyTorch eager, measured in the same run.

    .venv/bin/python benchmarks/export.py [--weights FILE] [--repeat N]

Without ``--weights`` the ImageNet weights are used when they are on this machine, else a
seeded random AlexNet (speed does not depend on the values; the int8 agreement printed by the
export then means little, as a random model's top-1 is a near-tie). Every runtime uses as many
threads as torch does. The table's "x PyTorch" is PyTorch's median time over the row's: above 1
is faster than PyTorch eager.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from timing import times_ms

from alexnet_gui.core.engines import cpu
from alexnet_gui.core.export.exporter import ExportReport, export_model

EXPORTS = (("onnx", False), ("onnx", True), ("openvino", False), ("openvino", True))


def _weights(given: str | None, folder: Path) -> tuple[Path, str]:
    from alexnet_gui.core.models.architectures import build_model
    from alexnet_gui.core.models.weights import find_imagenet_weights

    if given:
        return Path(given), given
    found = find_imagenet_weights()
    if found is not None:
        return found, f"ImageNet weights ({found.name})"
    torch.manual_seed(0)
    path = folder / "alexnet-random.pth"
    torch.save(build_model("torchvision").state_dict(), path)
    return path, "a seeded random AlexNet (no ImageNet weights here)"


def _runner(report: ExportReport, runtime: str, threads: int):
    if runtime == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(report.path), options,
                                       providers=["CPUExecutionProvider"])
        return lambda batch: session.run(["logits"], {"image": batch})
    import openvino as ov

    compiled = ov.Core().compile_model(str(report.path), "CPU", {
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": "f32",  # int8 layers still run in int8
    })
    request = compiled.create_infer_request()
    return lambda batch: request.infer({0: batch})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", metavar="FILE")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU: {cpu.cpu_model()} ({os.cpu_count()} logical CPUs, {threads} threads for every "
          f"runtime; load average {load:.1f} at the start)")
    print(f"ISA: {' '.join(cpu.isa_flags()) or 'unknown'}")
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        weights, described = _weights(args.weights, Path(tmp))
        print(f"Model: {described}; batch-1 median of {args.repeat} runs after 5 warm-up runs")
        from alexnet_gui.core.models.weights import load_weights

        loaded = load_weights(weights)
        size = loaded.spec.preprocessing.crop_size
        batch = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
        tensor = torch.from_numpy(batch)

        def eager() -> object:
            with torch.inference_mode():
                return loaded.model(tensor)

        # (label, precision, export s, file MB, run): timed together below, round-robin
        rows: list[tuple[str, str, str, str, Callable[[], object]]] = [
            ("PyTorch eager", "fp32", "-", "-", eager)]
        for fmt, int8 in EXPORTS:
            suffix = ".onnx" if fmt == "onnx" else ".xml"
            out = Path(tmp) / f"model{'-int8' if int8 else ''}{suffix}"
            report = export_model(weights, fmt, out, int8=int8)
            runtimes = ("onnxruntime", "openvino") if fmt == "onnx" else ("openvino",)
            for runtime in runtimes:
                run = _runner(report, runtime, threads)
                label = f"{'ONNX' if fmt == 'onnx' else 'IR'} in {runtime}"
                rows.append((label, report.precision, f"{report.seconds:.1f}",
                             f"{report.size_bytes / 1e6:.0f}", lambda run=run: run(batch)))
            check = (f"logits within {report.max_abs_diff:.1e}" if report.max_abs_diff is not None
                     else f"top-1 agreement {report.agreement:.1%} on {report.checked_on}")
            print(f"  exported {fmt} {report.precision}: {check}")
        # One call of each in turn, ``repeat`` times: a load that comes and goes (a shared
        # machine) then slows every row alike instead of whichever was being timed.
        samples: list[list[float]] = [[] for _ in rows]
        for _ in range(5):
            for row in rows:
                row[4]()
        for _ in range(args.repeat):
            for index, row in enumerate(rows):
                samples[index].extend(times_ms(row[4], 1, warmup=0))
        medians = [statistics.median(values) for values in samples]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\nload average {load:.1f} at the end")
        print("| model | precision | export s | file MB | batch-1 ms | x PyTorch |")
        print("|---|---|---|---|---|---|")
        for (label, precision, seconds, megabytes, _run), ms in zip(rows, medians, strict=True):
            print(f"| {label} | {precision} | {seconds} | {megabytes} | {ms:.1f} | "
                  f"{medians[0] / ms:.2f} |")


if __name__ == "__main__":
    main()
