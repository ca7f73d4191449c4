"""``alexnet-gui classify``: top-k classes of image files and folders, as a table or JSON.

Every input gets an answer: a prediction or a one-line error. A bad file never stops the others,
and never shows a traceback. Exit status: 0 all classified, 1 any failed, 2 usage error.

When the engine cache holds an engine for the weights (any earlier run converted it), the files
are classified by :mod:`alexnet_gui.core.inference.quick` without importing torch: about a
second instead of ten. Otherwise the torch path loads the model and converts and caches the
engine, so the next run is quick. ``--device cuda``, a CUDA GPU with ``--device auto``, and
``torchrun`` always take the torch path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alexnet_gui.cli.progress import progress_bar
from alexnet_gui.core.engines.names import ENGINES
from alexnet_gui.core.inference.devices import DEVICES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("classify", help="classify image files and folders")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--weights", metavar="FILE", help="state_dict or alexnet-gui checkpoint")
    parser.add_argument("--topk", type=_topk, default=5, metavar="K", help="classes per image")
    parser.add_argument("--tta", action="store_true", help="average the ten crops of TenCrop")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument(
        "--engine", choices=ENGINES, default="auto", help="auto: the fastest that keeps quality"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    parser.set_defaults(run=run)


def _topk(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    from alexnet_gui.core.imaging.decode import check_image, find_images

    # Every input is looked at (headers only) before a model loads: a run whose inputs are all
    # unreadable answers at once and loads nothing.
    inputs = input_files(args.paths, find_images, check_image)
    images = [path for path, problem in inputs if problem is None]
    answers = _classify(args, images) if images else iter(())
    if not _alone():
        from alexnet_gui.core.training.distributed import cluster

        if not cluster().is_main:  # under torchrun: classify this process's share; rank 0 prints
            for _ in answers:
                pass
            return 0
    entries: list[dict[str, Any]] = []
    with progress_bar(len(images), "Classifying", unit="img") as bar:
        for path, problem in inputs:
            if problem is None:
                _, prediction, problem = next(answers)
                bar.update()
                if prediction is not None:
                    entries.append(
                        {
                            "path": str(path),
                            "predictions": [score.as_dict() for score in prediction.scores],
                            "elapsed_ms": round(prediction.elapsed_ms, 3),
                        }
                    )
                    if not args.json:
                        bar.clear()
                        _print_prediction(path, entries[-1])
                    continue
            bar.clear()
            entries.append(report_failure(path, problem))
    return finish(entries, as_json=args.json)


def _classify(args: argparse.Namespace, images: list[Path]) -> Iterator[Any]:
    """Load the model, then each image's ``(path, prediction, problem)`` in input order."""
    from alexnet_gui.core.inference.folder import classify_paths

    quick = _quick(args)
    if quick is not None:
        for message in quick.take_messages(args.engine):
            print(f"alexnet-gui classify: {message}", file=sys.stderr)
        yield from classify_paths(quick, images, topk=args.topk, tta=args.tta)
        return
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.models.weights import load_weights
    from alexnet_gui.core.training.distributed import in_input_order, join

    place = join(args.device)  # under torchrun: before the model goes to this process's GPU
    classifier = Classifier(
        load_weights(args.weights), device=args.device, engine=args.engine, images=images
    )
    while message := classifier.engine.take_message():
        if place.is_main:
            print(f"alexnet-gui classify: {message}", file=sys.stderr)
    # In input order, 32 files per forward pass; each answer is printed as its batch is done.
    # The window's folder table goes the same way: the same reasons, the same GPU fallback.
    # Under torchrun each process takes every N-th file; rank 0 yields them all, in order.
    yield from in_input_order(place, images, lambda part: classify_paths(
        classifier, part, topk=args.topk, tta=args.tta, on_note=_print_note))


def _quick(args: argparse.Namespace) -> Any:
    """The cached engine run without torch (:mod:`alexnet_gui.core.inference.quick`), or None
    when the torch path must run: no cached engine, a GPU wanted or maybe present, torchrun."""
    if not _alone() or args.device == "cuda" or (args.device == "auto" and _maybe_cuda()):
        return None
    from alexnet_gui.core.inference.quick import find_quick_engine

    return find_quick_engine(args.weights, engine=args.engine)


def _alone() -> bool:
    """Not one of several processes started by ``torchrun`` (its ``WORLD_SIZE``)."""
    return os.environ.get("WORLD_SIZE", "1").strip() in ("", "1")


def _maybe_cuda() -> bool:
    """Whether an NVIDIA driver is installed and a GPU visible, asked without torch: then
    ``--device auto`` means CUDA, which only the torch path runs."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1"):
        return False
    if sys.platform == "win32":
        system = Path(os.environ.get("SYSTEMROOT", r"C:\Windows"))
        return (system / "System32" / "nvcuda.dll").is_file()
    gpus = Path("/proc/driver/nvidia/gpus")
    return (gpus.is_dir() and any(gpus.iterdir())) or Path("/dev/nvidia0").exists()


def report_failure(path: Path, problem: str | None) -> dict[str, Any]:
    """One line on stderr for an input that failed, and its JSON entry."""
    # A newline in a file name must not break "one line per failed input".
    printable = str(path).replace("\n", "\\n")
    print(f"{printable}: {problem}", file=sys.stderr)
    return {"path": str(path), "error": problem}


def finish(entries: list[dict[str, Any]], *, as_json: bool) -> int:
    """Print the JSON list if asked; the exit code: 1 if any input failed, else 0."""
    if as_json:
        print(json.dumps(entries, indent=2))
    return 1 if any("error" in entry for entry in entries) else 0


def input_files(paths: list[str], find_images: Any,
            check_image: Any) -> list[tuple[Path, str | None]]:
    """Each file as given, each folder expanded, each checked: ``(path, problem or None)``.

    An empty folder is an error of its own; a file's problem says what is wrong without
    repeating its name (the line that prints it starts with the path).
    """
    result: list[tuple[Path, str | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = find_images([path])
            if not found:
                result.append((path, "no image files in this folder"))
            result.extend((image, _problem(image, check_image)) for image in found)
        elif not path.exists():
            result.append((path, "no such file or folder"))
        else:
            result.append((path, _problem(path, check_image)))
    return result


def _problem(path: Path, check_image: Any) -> str | None:
    from alexnet_gui.core.errors import ImageLoadError, without_name

    try:
        check_image(path)
    except ImageLoadError as exc:
        return without_name(str(exc), path)
    return None


def _print_note(note: str) -> None:
    """The GPU ran out of memory: the rest of the files are classified on the CPU."""
    print(f"alexnet-gui classify: {note}", file=sys.stderr)


def _print_prediction(path: Path, entry: dict[str, Any]) -> None:
    print(f"{path}  ({entry['elapsed_ms']:.1f} ms)")
    for score in entry["predictions"]:
        print(f"  {score['rank']:>2}. {score['label']:<40} {score['probability'] * 100:6.2f}%")
