"""``alexnet-gui explain``: why the model chose a class, as a map per image, in PNG and NumPy form.

For each image it writes ``NAME.METHOD.png`` (the map blended over the crop the model saw, or the
gradient image) and ``NAME.METHOD.npy`` (the map itself: float32, the model input's height x width
in [0, 1], or 3 x H x W for the gradient methods) into ``--out``. Exit status as ``classify``: 0 all
explained, 1 any failed (each failure one line on stderr; the others still run), 2 usage error
(also for a ``--class``, ``--rank`` or ``--layer`` the loaded model does not have).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alexnet_gui.cli.classify import finish, input_files, report_failure
from alexnet_gui.cli.progress import progress_bar
from alexnet_gui.core.inference.devices import DEVICES
from alexnet_gui.core.visualize.explain.base import (
    LAYER_METHODS,
    METHOD_LABELS,
    METHODS,
    SLOW_METHODS,
    ExplainOptions,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="maps of the evidence for a class (Grad-CAM, occlusion, ...)",
        description="Explain the model's class for each image: writes NAME.METHOD.png and "
        "NAME.METHOD.npy into --out.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--weights", metavar="FILE", help="state_dict or alexnet-gui checkpoint")
    parser.add_argument("--method", choices=METHODS, default="gradcam")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--class", dest="class_index", type=_whole(0), metavar="INDEX",
                       help="explain this class index")  # fmt: skip
    which.add_argument("--rank", type=_whole(1), metavar="R",
                       help="explain each image's R-th class (default 1: the top-1)")  # fmt: skip
    parser.add_argument("--layer", metavar="NAME", help="the CAM layer (default relu5)")
    defaults = ExplainOptions()
    parser.add_argument("--patch", type=_whole(1), metavar="N",
                        help=f"occlusion: patch side, pixels (default {defaults.occlusion_patch})")
    parser.add_argument("--stride", type=_whole(1), metavar="N",
                        help=f"occlusion: stride, pixels (default {defaults.occlusion_stride})")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--out", metavar="DIR", default=".", help="where to write (default: .)")
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    parser.set_defaults(run=run, explain_parser=parser)


def _whole(smallest: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
        if value < smallest:
            raise argparse.ArgumentTypeError(f"must be at least {smallest}")
        return value

    return parse


def _check_flags(args: argparse.Namespace) -> None:
    """Flags that do not fit the method are usage errors (exit 2), not silently ignored."""
    parser: argparse.ArgumentParser = args.explain_parser
    if args.method != "occlusion" and (args.patch is not None or args.stride is not None):
        parser.error("--patch and --stride are for --method occlusion")
    if args.layer is not None and args.method not in LAYER_METHODS:
        parser.error(f"--layer does not apply to --method {args.method}")


def run(args: argparse.Namespace) -> int:
    from alexnet_gui.core.imaging.decode import check_image, find_images

    _check_flags(args)
    inputs = input_files(args.paths, find_images, check_image)
    images = [path for path, problem in inputs if problem is None]
    out = Path(args.out)
    explainer = _Explainer(args, out) if images else None
    entries: list[dict[str, Any]] = []
    names = _output_names(images)
    with progress_bar(len(images), "Explaining", unit="img") as bar:
        for path, problem in inputs:
            if problem is None and explainer is not None:
                entry = explainer.explain(path, names[path])
                bar.update()
                if "error" not in entry:
                    entries.append(entry)
                    if not args.json:
                        bar.clear()
                        _print_entry(entry)
                    continue
                problem = entry["error"]
            bar.clear()
            entries.append(report_failure(path, problem))
    return finish(entries, as_json=args.json)


def _output_names(images: list[Path]) -> dict[Path, str]:
    """Each image's NAME: its stem, with ``-2``, ``-3``... when two inputs share one."""
    names: dict[Path, str] = {}
    used: set[str] = set()
    for path in images:
        name, number = path.stem, 1
        while name in used:
            number += 1
            name = f"{path.stem}-{number}"
        used.add(name)
        names[path] = name
    return names


class _Explainer:
    """The model, loaded once, and what every image's explanation needs."""

    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        from alexnet_gui.core.errors import UserFacingError
        from alexnet_gui.core.inference.classifier import Classifier
        from alexnet_gui.core.models.weights import load_weights
        from alexnet_gui.core.visualize.gradcam import find_layer

        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserFacingError(f"cannot write to {out}: {exc.strerror or exc}") from exc
        self.args, self.out = args, out
        self.classifier = Classifier(load_weights(args.weights), device=args.device)
        parser: argparse.ArgumentParser = args.explain_parser
        count = self.classifier.spec.num_classes
        if args.class_index is not None and args.class_index >= count:
            parser.error(f"--class {args.class_index}: the model has {count} classes "
                         f"(0..{count - 1})")  # fmt: skip
        if args.rank is not None and args.rank > count:
            parser.error(f"--rank {args.rank}: the model has {count} classes")
        if args.layer is not None:
            try:
                find_layer(self.classifier.layers, args.layer)
            except ValueError as exc:
                parser.error(f"--layer: {exc}")
        defaults = ExplainOptions()
        self.options = ExplainOptions(
            method=args.method,
            layer=args.layer,
            occlusion_patch=args.patch or defaults.occlusion_patch,
            occlusion_stride=args.stride or defaults.occlusion_stride,
        )

    def explain(self, path: Path, name: str) -> dict[str, Any]:
        """One image's JSON entry, or ``{"error": ...}`` when it cannot be read or explained."""
        import numpy as np
        from PIL import Image

        from alexnet_gui.core.errors import ImageLoadError, without_name
        from alexnet_gui.core.imaging.decode import load_image
        from alexnet_gui.core.imaging.preprocess import denormalise
        from alexnet_gui.core.visualize.explain import explain, explanation_rgb

        try:
            image = load_image(path)
        except ImageLoadError as exc:
            return {"error": without_name(str(exc), path)}
        classifier, method = self.classifier, self.options.method
        batch = classifier.preprocess(image).to(classifier.device)
        options = self._options_for(batch)
        slow = None if method in SLOW_METHODS else False  # None: drawn on a terminal
        with progress_bar(None, f"{METHOD_LABELS[method]} {path.name}", unit="pass",
                          tty=slow) as bar:  # fmt: skip
            try:
                result = explain(classifier.model, batch, options,
                                 progress=lambda done, total: _advance(bar, done, total))
            except ValueError as exc:  # e.g. a layer without maps for this method
                return {"error": str(exc)}
        crop = denormalise(batch[0], classifier.spec.preprocessing)
        png, npy = self.out / f"{name}.{method}.png", self.out / f"{name}.{method}.npy"
        try:
            Image.fromarray(explanation_rgb(result, crop)).save(png)
            np.save(npy, result.map.astype(np.float32))
        except OSError as exc:
            return {"error": f"cannot write {png.parent}: {exc.strerror or exc}"}
        return {
            "path": str(path),
            "method": method,
            "layer": result.layer,
            "class_index": result.class_index,
            "label": classifier.spec.categories[result.class_index],
            "score": round(result.score, 6),
            "png": str(png),
            "npy": str(npy),
        }

    def _options_for(self, batch: Any) -> ExplainOptions:
        """The options with this image's class: ``--class``, or its ``--rank``-th class."""
        from dataclasses import replace

        import torch

        if self.args.class_index is not None:
            return replace(self.options, class_index=self.args.class_index)
        rank = self.args.rank or 1
        if rank == 1:
            return self.options  # the top-1, found by the method's own forward pass
        with torch.inference_mode():
            logits = self.classifier.model(batch)
        order = logits[0].float().argsort(descending=True)
        return replace(self.options, class_index=int(order[rank - 1]))


def _advance(bar: Any, done: int, total: int) -> None:
    if bar.total != total:
        bar.total = total
    bar.n = done
    bar.refresh()


def _print_entry(entry: dict[str, Any]) -> None:
    layer = f" at {entry['layer']}" if entry["layer"] else ""
    print(f"{entry['path']}: {METHOD_LABELS[entry['method']]}{layer} of {entry['label']} "
          f"(class {entry['class_index']}, {entry['score'] * 100:.2f}%)")  # fmt: skip
    print(f"  {entry['png']}\n  {entry['npy']}")
