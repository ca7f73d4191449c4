"""Start-up: how soon the picture, and then its top-5, are on screen; and what it costs in memory.

For the window (``python -m alexnet_gui --weights W IMAGE``) and the command line
(``python -m alexnet_gui classify --weights W IMAGE``), each run is a fresh process, measured from
just before its launch:

- window: ``window_shown``, ``image_shown`` (the picture, before its result), ``model_loaded``
  and ``first_result``, from the app's ``ALEXNET_GUI_TIMING=1`` stamps, on the offscreen platform,
  quitting after the first result; the peak RSS (``VmHWM``) read from ``/proc`` the moment the
  first result's stamp arrives, and the process's peak over its whole life (``wait4``);
- command line: wall time to exit and peak RSS (``wait4``).

The engine cache is warm (the runs that count) after one cold run per kind, which converts and
times the engines for the weights once, as a new user's first start does; the cold runs are shown
for reference. Settings and caches live in a temporary folder, never the user's. Without
``--weights`` a random AlexNet state_dict is saved first: the ImageNet file's size and shape, so
loading and converting it cost the same. ``import torch`` alone is timed in the same run, since it
is the cost the fast start avoids.

    .venv/bin/python benchmarks/startup.py [--runs 3] [--weights FILE] [--image FILE]
        [--engine auto|openvino-int8|...]

``--engine`` is the window's Options > Engine setting (written to the private settings file) and
the command line's ``--engine``. Random weights are a poor stand-in for ``auto``: int8 misses the
quality bar on them, so ``auto`` takes fp32 (a 233 MB engine) where the ImageNet weights get int8
(about 60 MB); ``--engine openvino-int8`` measures that engine on the same file.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUI_EVENTS = ("window_shown", "image_shown", "model_loaded", "first_result")
GOALS = {"image_shown": 1.0, "first_result": 1.5, "rss_mb": 400.0, "cli_s": 1.5}


def make_inputs(folder: Path) -> tuple[Path, Path]:
    """A random state_dict and a photo, made in a child process: this process stays small.

    Linux starts a child's peak RSS (``wait4``'s ``ru_maxrss``) at its parent's RSS at fork, so
    a parent that had imported torch would lend every launched process its 1 GB."""
    code = "import sys; sys.path.insert(0, 'benchmarks'); import startup; startup.write_inputs("
    subprocess.run([sys.executable, "-c", f"{code}{str(folder)!r})"], cwd=ROOT, check=True)
    return folder / "alexnet-random.pth", folder / "chelsea.png"


def write_inputs(folder: str) -> None:
    """A random state_dict and a photo (skimage's chelsea, or a gradient without skimage)."""
    import numpy as np
    import torch
    from PIL import Image
    from torchvision.models import alexnet

    weights = Path(folder) / "alexnet-random.pth"
    torch.save(alexnet(weights=None).state_dict(), weights)
    try:
        from skimage import data

        pixels = data.chelsea()
    except ImportError:
        pixels = np.linspace(0, 255, 300 * 450 * 3).reshape(300, 450, 3).astype(np.uint8)
    Image.fromarray(pixels).save(Path(folder) / "chelsea.png")


def environment(home: Path) -> dict[str, str]:
    """A private config, cache and data home: the user's own are never read or written."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ALEXNET_GUI")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    return env


def vm_hwm_mb(pid: int) -> float:
    """The process's peak resident set so far (``VmHWM``), in MB; NaN if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def wait_peak_mb(process: subprocess.Popen[str]) -> tuple[int, float]:
    """Reap ``process``: its exit code and its lifetime peak RSS in MB (``wait4``)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024.0


def set_engine(home: Path, engine: str) -> None:
    """Options > Engine in the private settings file, written by the app's own code (in a child
    process, which keeps this one free of Qt)."""
    code = ("from alexnet_gui.settings import Settings, open_store, save_settings, settings_path;"
            f"save_settings(Settings(engine={engine!r}), open_store(settings_path()))")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(home), check=True)


def gui_run(weights: Path, image: Path, home: Path) -> dict[str, float]:
    env = {**environment(home), "ALEXNET_GUI_TIMING": "1",
           "ALEXNET_GUI_QUIT_AFTER": "first_result", "ALEXNET_GUI_LOG": "INFO"}
    command = [sys.executable, "-m", "alexnet_gui", "--weights", str(weights), str(image)]
    home.mkdir(parents=True, exist_ok=True)
    log = home / "window-log.txt"
    start = time.time()
    with log.open("w") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=stderr, text=True)
    row: dict[str, float] = {}
    assert process.stdout is not None
    for line in process.stdout:
        if not line.startswith("alexnet-gui-timing "):
            continue
        _, event, stamp = line.split()
        row.setdefault(event, float(stamp) - start)
        if event == "first_result":
            row["rss_mb"] = vm_hwm_mb(process.pid)
    code, row["peak_mb"] = wait_peak_mb(process)
    row["exited"] = time.time() - start
    missing = [event for event in GUI_EVENTS if event not in row]
    if code != 0 or missing:
        raise SystemExit(f"the window exited with {code}; no stamp for {missing}")
    PATHS.append(start_path(log.read_text(errors="replace")))
    return row


#: How each window run answered first: the quick engine's name, or why the torch path ran.
PATHS: list[str] = []


def start_path(log: str) -> str:
    """``quick openvino-int8``, or ``torch (REASON)`` from the app's INFO log."""
    for line in log.splitlines():
        if "quick engine: " in line and "no quick engine" not in line:
            return "quick " + line.split("quick engine: ", 1)[1].split()[0]
    reasons = [line.split("no quick engine: ", 1)[1] for line in log.splitlines()
               if "no quick engine: " in line]
    return f"torch ({reasons[-1] if reasons else 'no reason logged'})"


def cli_run(weights: Path, image: Path, home: Path, engine: str) -> dict[str, float]:
    command = [sys.executable, "-m", "alexnet_gui", "classify", "--weights", str(weights),
               "--engine", engine, str(image)]
    errors = home / "classify-stderr.txt"
    home.mkdir(parents=True, exist_ok=True)
    with errors.open("w") as stderr:
        start = time.time()
        process = subprocess.Popen(command, cwd=ROOT, env=environment(home),
                                   stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        code, peak = wait_peak_mb(process)
        wall = time.time() - start
    if code != 0:
        raise SystemExit(f"classify exited with {code}: {errors.read_text()}")
    return {"cli_s": wall, "peak_mb": peak}


def seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def cpu_line() -> str:
    model = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    extra = [name for flag, name in (("avx512_vnni", "VNNI"), ("avx512_bf16", "BF16"),
                                     ("amx_tile", "AMX")) if flag in flags]
    load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    return f"{model}; {os.cpu_count()} CPUs; {' '.join([isa, *extra])}{load}"


def table(title: str, columns: tuple[str, ...], rows: list[dict[str, float]],
          cold: dict[str, float]) -> None:
    print(f"\n{title} (seconds since launch; MB)")
    print(f"{'run':>10} " + " ".join(f"{c:>13}" for c in columns))
    print(f"{'cold cache':>10} " + " ".join(f"{cold.get(c, float('nan')):>13.2f}"
                                            for c in columns))
    for i, row in enumerate(rows, 1):
        print(f"{'warm ' + str(i):>10} " + " ".join(f"{row[c]:>13.2f}" for c in columns))
    medians = {c: statistics.median(row[c] for row in rows) for c in columns}
    print(f"{'median':>10} " + " ".join(f"{medians[c]:>13.2f}" for c in columns))
    goals = [f"{c} <= {GOALS[c]:g} ({'met' if medians[c] <= GOALS[c] else 'missed'})"
             for c in columns if c in GOALS]
    print("goals (warm median): " + "; ".join(goals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs per kind")
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--image", type=Path)
    parser.add_argument("--engine", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alexnet-gui-startup-") as tmp:
        folder = Path(tmp)
        weights, image = make_inputs(folder)
        weights, image = args.weights or weights, args.image or image
        home = folder / "home"  # one home: the cold run converts, the warm runs find it cached
        set_engine(home, args.engine)
        gui_cold = gui_run(weights, image, home)
        gui_rows = [gui_run(weights, image, home) for _ in range(args.runs)]
        cli_cold = cli_run(weights, image, folder / "cli-cold", args.engine)
        cli_rows = [cli_run(weights, image, home, args.engine) for _ in range(args.runs)]
        torch_s = [seconds("import torch") for _ in range(args.runs)]
    print(f"alexnet-gui start-up, engine {args.engine}, {args.runs} warm runs per kind after "
          "one cold-cache run")
    print(f"CPU: {cpu_line()}")
    table("window (offscreen)", (*GUI_EVENTS, "rss_mb", "peak_mb"), gui_rows, gui_cold)
    runs = ("cold", *range(1, args.runs + 1))
    print("first answer by: " + "; ".join(f"{run}: {path}"
                                          for run, path in zip(runs, PATHS, strict=True)))
    table("classify one image", ("cli_s", "peak_mb"), cli_rows, cli_cold)
    print(f"\nimport torch alone, fresh interpreter: median {statistics.median(torch_s):.2f} s "
          f"({', '.join(f'{s:.2f}' for s in torch_s)})")
    print("rss_mb: peak RSS when the first result was stamped; peak_mb: the process's lifetime "
          "peak (the window goes on loading the full network in the background).")


if __name__ == "__main__":
    main()
