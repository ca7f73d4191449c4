"""Fuzz the image decoder: any exception from ``core.imaging.decode`` but ImageLoadError is a bug.

Every file, paste and drop reaches Pillow through :func:`image_from_bytes` or :func:`load_image`,
and the app promises one readable message per bad input. atheris (libFuzzer for Python) mutates a
seed corpus of small valid images in every format Pillow writes, with coverage feedback from
Pillow's Python plugins and from ``core.imaging.decode``. A finding is an exception that is
not :class:`ImageLoadError`, or a "successful" decode that is not an RGB image of at least 1x1.
Findings are collected (one per exception type and place), not fatal, so one run can report
several; each is saved with the input that caused it.

atheris is not a dependency of the app or of the tests; install it into the venv to fuzz::

    .venv/bin/pip install atheris
    .venv/bin/python scripts/fuzz_imaging.py --seconds 180            # seeds made in a temp folder
    .venv/bin/python scripts/fuzz_imaging.py --seconds 600 --corpus fuzz/corpus --findings fuzz/out

``--corpus`` keeps the seeds and libFuzzer's new interesting inputs between runs. Replay one
finding with ``--replay FILE``. Exit status: 0 no findings, 1 findings, 2 atheris is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: libFuzzer options: inputs stay small (the seeds are tiny) and a slow or greedy input is reported.
MAX_LEN = 16_384
RSS_LIMIT_MB = 3072
PER_INPUT_TIMEOUT_S = 20


class Findings:
    """Unexpected exceptions, one entry per (type, innermost frame), each with its input saved."""

    def __init__(self, folder: Path, scratch: tempfile.TemporaryDirectory) -> None:
        self.folder = folder
        self.scratch = scratch  # removed by finish(): os._exit skips every cleanup
        self.seen: dict[str, int] = {}
        self.executions = 0
        self.started = time.perf_counter()

    def record(self, data: bytes, exc: BaseException) -> None:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        key = f"{type(exc).__name__} at {where}"
        if key in self.seen:
            self.seen[key] += 1
            return
        self.seen[key] = 1
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"finding-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
        (self.folder / f"{name}.bin").write_bytes(data)
        (self.folder / f"{name}.txt").write_text(
            key + "\n\n" + "".join(traceback.format_exception(exc)), encoding="utf-8"
        )
        print(f"\nFINDING {key}: {str(exc)[:160]!r} (input saved as {name}.bin)", flush=True)

    def report(self) -> None:
        elapsed = time.perf_counter() - self.started
        rate = self.executions / elapsed if elapsed > 0 else 0.0
        print(f"\nfuzz_imaging: {self.executions} executions in {elapsed:.0f} s ({rate:.0f}/s); "
              f"{len(self.seen)} distinct finding(s)", flush=True)
        for key, count in sorted(self.seen.items()):
            print(f"  {count:>6} x {key}", flush=True)
        if self.seen:
            print(f"inputs and tracebacks in {self.folder}", flush=True)

    def finish(self) -> None:
        """Print the summary and end the process: 1 if anything was found."""
        self.report()
        self.scratch.cleanup()
        sys.stdout.flush()
        os._exit(1 if self.seen else 0)


def write_seeds(folder: Path) -> int:
    """Small valid images in every mode and format Pillow writes; returns how many."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:12, 0:16]
    rgb = Image.fromarray(np.stack([x * 16, y * 20, (x + y) * 8], -1).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    seeds: list[tuple[str, Image.Image, dict]] = [
        ("rgb.png", rgb, {}),
        ("gray.png", rgb.convert("L"), {}),
        ("bilevel.png", rgb.convert("1"), {}),
        ("palette.png", rgb.convert("P"), {"transparency": 0}),
        ("alpha.png", rgb.convert("RGBA"), {}),
        ("la.png", rgb.convert("LA"), {}),
        ("gray16.png", Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257), {}),
        ("rgb.jpg", rgb, {"quality": 80}),
        ("progressive.jpg", rgb, {"progressive": True}),
        ("exif.jpg", rgb, {"exif": exif}),
        ("cmyk.jpg", rgb.convert("CMYK"), {}),
        ("gray.jpg", rgb.convert("L"), {}),
        ("rgb.gif", rgb.convert("P"), {}),
        ("rgb.bmp", rgb, {}),
        ("rgba.bmp", rgb.convert("RGBA"), {}),
        ("rgb.tif", rgb, {}),
        ("lzw.tif", rgb, {"compression": "tiff_lzw"}),
        ("cmyk.tif", rgb.convert("CMYK"), {}),
        ("float.tif", Image.fromarray(np.asarray(rgb.convert("L"), np.float32) / 3), {}),
        ("int32.tif", rgb.convert("I"), {}),
        ("lab.tif", rgb.convert("LAB"), {}),
        ("rgb.webp", rgb, {"quality": 70}),
        ("lossless.webp", rgb.convert("RGBA"), {"lossless": True}),
        ("rgb.ppm", rgb, {}),
        ("gray.pgm", rgb.convert("L"), {"format": "PPM"}),
        ("rgb.ico", rgb, {}),
        ("rgb.tga", rgb, {}),
        ("rgb.pcx", rgb, {}),
        ("rgb.sgi", rgb, {}),
        ("rgb.im", rgb, {}),
        ("rgb.dds", rgb.convert("RGBA"), {}),
        ("rgb.jp2", rgb, {}),
        ("rgb.qoi", rgb, {}),
    ]
    written = 0
    for name, image, options in seeds:
        try:
            image.save(folder / name, **options)
            written += 1
        except (OSError, KeyError, ValueError):
            pass  # a format this Pillow build cannot write
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    for name in ("animated.gif", "animated.png", "animated.webp"):
        try:
            frames[0].save(folder / name, save_all=True, append_images=frames[1:], duration=40)
            written += 1
        except (OSError, KeyError, ValueError):
            pass
    return written


def make_target(findings: Findings, scratch: Path, seconds: float):
    """The function libFuzzer calls: bytes in memory, or (1 in 8) the same bytes as a file.

    It also ends the run after ``seconds``: libFuzzer's own ``-max_total_time`` exits without
    running Python's atexit handlers, so the summary would be lost.
    """
    from alexnet_gui.core.errors import ImageLoadError
    from alexnet_gui.core.imaging.decode import image_from_bytes, load_image

    path = scratch / "input.img"

    def test_one_input(data: bytes) -> None:
        findings.executions += 1
        if time.perf_counter() - findings.started > seconds:
            findings.finish()
        try:
            if data[:1] and data[0] % 8 == 0:
                path.write_bytes(data)
                image = load_image(path)
            else:
                image = image_from_bytes(data, "fuzz")
            if image.mode != "RGB" or min(image.size) < 1:
                raise AssertionError(f"decoded to {image.mode} {image.size}, not RGB")
        except ImageLoadError:
            pass
        except Exception as exc:  # every other exception is what this fuzzer looks for
            findings.record(data, exc)

    return test_one_input


def replay(path: Path) -> int:
    from alexnet_gui.core.errors import ImageLoadError
    from alexnet_gui.core.imaging.decode import image_from_bytes

    try:
        image = image_from_bytes(path.read_bytes(), path.name)
    except ImageLoadError as exc:
        print(f"ImageLoadError (fine): {exc}")
        return 0
    print(f"decoded: {image.mode} {image.size}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=180, help="how long to fuzz")
    parser.add_argument("--corpus", type=Path, help="seed folder, kept and grown (default: temp)")
    parser.add_argument("--findings", type=Path, default=Path("fuzz-findings"),
                        help="where inputs and tracebacks of findings go")
    parser.add_argument("--replay", type=Path, help="decode one saved input and print the outcome")
    args = parser.parse_args(argv)
    if args.replay is not None:
        return replay(args.replay)
    try:
        import atheris
    except ImportError:
        print("fuzz_imaging: atheris is not installed; run `.venv/bin/pip install atheris`",
              file=sys.stderr)
        return 2
    with atheris.instrument_imports(include=["PIL", "alexnet_gui.core.imaging.decode"]):
        from PIL import Image

        import alexnet_gui.core.imaging.decode  # noqa: F401

        Image.init()  # imports every format plugin, inside the instrumented block
    # Pillow warns about every corrupt EXIF block it meets; millions of lines hide the findings.
    # DecompressionBombWarning is a RuntimeWarning, and _decode turns it into an error itself.
    warnings.filterwarnings("ignore", category=UserWarning)
    temp = tempfile.TemporaryDirectory(prefix="fuzz-imaging-")
    scratch = Path(temp.name)
    corpus = args.corpus or scratch / "corpus"
    seeds = write_seeds(corpus)
    print(f"fuzz_imaging: {seeds} seed images in {corpus}; fuzzing for {args.seconds} s",
          flush=True)
    findings = Findings(args.findings.resolve(), temp)
    libfuzzer = [
        sys.argv[0],
        f"-max_total_time={args.seconds + 60}",  # a backstop; see make_target
        f"-max_len={MAX_LEN}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-timeout={PER_INPUT_TIMEOUT_S}",
        str(corpus),
    ]
    atheris.Setup(libfuzzer, make_target(findings, scratch, args.seconds))
    atheris.Fuzz()  # never returns: Findings.finish() ends the process
    return 0


if __name__ == "__main__":
    sys.exit(main())
