"""Inference engines: agreement with fp32, the on-disk cache, fallbacks, ``--engine``, fast paths.

One int8 conversion (a session fixture) serves the agreement tests and the cache tests. Speed is
never asserted here (``make bench`` measures it): what ``auto`` does with measured speeds is
tested with fake timings and a fake CPU probe (``fake_openvino``), so it holds on every CPU.

Agreement is only ever judged on a trained model (``photo_classifier``): with random weights the
top classes are near-ties, and which of them int8 picks depends on the CPU's int8 kernels.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_gui.cli import main
from alexnet_gui.core.engines import openvino
from alexnet_gui.core.engines.cache import MANIFEST, EngineCache
from alexnet_gui.core.engines.names import ENGINE_ENV, resolve_name
from alexnet_gui.core.engines.select import SelectedEngine, select_engine
from alexnet_gui.core.errors import ImageLoadError, UserFacingError
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.imaging.fast import file_tensor, frame_tensor
from alexnet_gui.core.imaging.preprocess import eval_transform
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.inference.folder import classify_paths
from alexnet_gui.core.models.weights import LoadedModel, imagenet_spec
from alexnet_gui.core.visualize.inside import look_inside
from tests.fixtures.engines import NEEDS_OPENVINO, FakeEngine, FakeOpenVINO, three_class_spec
from tests.fixtures.models import random_model

needs_openvino = pytest.mark.skipif(not openvino.available(), reason=NEEDS_OPENVINO)


def _top1(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(batch).argmax(dim=1)


# -- quality -----------------------------------------------------------------------------------


@needs_openvino
def test_int8_agrees_with_fp32_on_real_photos(int8_selection, real_photos) -> None:
    model, spec, selection = int8_selection
    assert selection.name == "openvino-int8", selection.messages
    transform = eval_transform(spec.preprocessing)
    batch = torch.stack([transform(crop) for _, crop in real_photos])
    fp32, count = _top1(model, batch), len(real_photos)
    # The premise: fp32 tells which photo a crop comes from (chance: 1 in 14), so its top-1
    # rests on real margins, not on the near-ties that make a random model's agreement luck.
    photos = torch.tensor([spec.categories.index(name) for name, _ in real_photos])
    recognised = int((fp32 == photos).sum())
    assert recognised / count >= 0.8, f"the trained model knows only {recognised}/{count} crops"
    agreeing = int((fp32 == selection.run(batch).argmax(dim=1)).sum())
    # 30 crops of 6 photos (a count: 27/30 in float32 is just under 0.9); the build-time check
    # held out 84 views of the 14 photos the model was trained on.
    assert agreeing / count >= 0.9, f"int8 agrees with fp32 on {agreeing}/{count} crops"
    assert selection.active.agreement >= 0.95
    assert "agrees with fp32" in selection.summary()


@needs_openvino
def test_look_inside_still_uses_pytorch_with_a_converted_engine(
    int8_selection, chelsea_rgb
) -> None:
    model, spec, selection = int8_selection
    classifier = Classifier(LoadedModel(model, spec), device="cpu")
    classifier.engine = selection
    view = look_inside(classifier, Image.fromarray(chelsea_rgb), layer="conv1", gradcam=False)
    assert view.activations["conv1"].shape == (64, 55, 55)
    assert classifier.info.device == "cpu (openvino-int8)"


# -- the cache -------------------------------------------------------------------------------


@pytest.fixture
def counted_conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = openvino.convert

    def counting(model, spec, flavour, calibration):
        calls.append(flavour)
        return original(model, spec, flavour, calibration)

    monkeypatch.setattr(openvino, "convert", counting)
    return calls


@needs_openvino
def test_cache_is_reused_then_rebuilt_when_damaged(
    int8_selection, engine_cache_home: Path, tmp_path: Path, counted_conversions
) -> None:
    model, spec, _ = int8_selection
    shutil.copytree(engine_cache_home / "alexnet-gui" / "engines", tmp_path / "engines")
    cache = EngineCache(tmp_path / "engines")
    (folder,) = list(cache.root.iterdir())
    written = (folder / MANIFEST).stat().st_mtime_ns

    from alexnet_gui.core.engines import speed

    def no_timing(*args, **kwargs):
        raise AssertionError("the cached speed should have been used")

    built_speed = json.loads((folder / MANIFEST).read_text())["info"]["speed"]
    assert built_speed["batch1_ms"] > 0 and built_speed["batch"] == speed.BATCH
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(speed, "measure", no_timing)
        again = select_engine("openvino-int8", model, spec, cache=cache)
    assert again.name == "openvino-int8" and counted_conversions == []
    assert (folder / MANIFEST).stat().st_mtime_ns == written
    assert again.active.info["speed"] == built_speed
    assert again.timings == {"openvino-int8": built_speed["batch1_ms"]}

    weights = folder / "model.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # same size, different bytes
    weights.write_bytes(bytes(data))
    rebuilt = select_engine("openvino-int8", model, spec, cache=cache)
    assert rebuilt.name == "openvino-int8" and counted_conversions == ["int8"]
    assert rebuilt.active.agreement == again.active.agreement
    assert [p.name for p in cache.root.iterdir()] == [folder.name]  # no temporary leftovers


def test_a_damaged_manifest_or_file_counts_as_absent(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)

    def write(folder: Path) -> dict:
        (folder / "model.bin").write_bytes(b"weights")
        return {"agreement": 1.0}

    entry = cache.store("key", write)
    assert entry.info == {"agreement": 1.0} and cache.load("key") is not None
    (entry.folder / MANIFEST).write_text("{not json", encoding="utf-8")
    assert cache.load("key") is None and not entry.folder.exists()
    entry = cache.store("key", write)
    (entry.folder / "model.bin").write_bytes(b"weightz")
    assert cache.load("key") is None


def test_a_failed_build_leaves_no_entry(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)

    def write(folder: Path) -> dict:
        (folder / "half.bin").write_bytes(b"x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cache.store("key", write)
    assert list(tmp_path.iterdir()) == [] and cache.load("key") is None


# -- choosing and falling back ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bf16_ms", "expected"),
    [(20.0, "openvino-fp32"), (12.0, "openvino-bf16")],
    ids=["fp32-beats-bf16", "bf16-beats-fp32"],
)
def test_auto_takes_the_measured_fastest_engine_that_keeps_the_bar(
    fake_openvino: FakeOpenVINO, bf16_ms: float, expected: str
) -> None:
    fake = fake_openvino
    fake.capabilities = {"FP32", "INT8", "BF16"}  # as on an AVX-512 BF16 or AMX CPU
    fake.agreements = {"int8": 0.95}  # the fastest, but below the bar
    fake.timings = {"openvino-int8": 10.0, "openvino-fp32": 15.0, "openvino-bf16": bf16_ms,
                    "pytorch": 50.0}  # fmt: skip
    selection = select_engine("auto", random_model(num_classes=3), imagenet_spec(),
                              cache=fake.cache)  # fmt: skip
    assert selection.name == expected
    assert "int8 (10 ms, agrees with fp32 on only 95.0%)" in selection.decision
    assert selection.take_message() is None  # the app's own decision is no problem to act on
    assert selection.timings_ms()[0] == ("openvino-int8", 10.0)
    assert dict(selection.timings) == fake.timings
    # Timed together, once: the three built engines and the PyTorch reference.
    assert fake.measured == [["openvino-int8", "openvino-fp32", "openvino-bf16", "pytorch"]]


def test_auto_never_picks_bf16_on_a_cpu_without_native_bf16(fake_openvino: FakeOpenVINO) -> None:
    fake = fake_openvino
    fake.capabilities = {"FP32", "INT8"}  # AVX2, or AVX-512 without BF16 and AMX
    fake.agreements = {"int8": 0.90}
    # Were bf16 built and timed, it would win; it must not even be converted.
    fake.timings = {"openvino-int8": 19.0, "openvino-fp32": 29.0, "openvino-bf16": 5.0,
                    "pytorch": 54.0}  # fmt: skip
    selection = select_engine("auto", random_model(num_classes=3), imagenet_spec(),
                              cache=fake.cache)  # fmt: skip
    assert selection.name == "openvino-fp32"
    assert "bf16" not in fake.converted and "openvino-bf16" not in fake.measured[0]
    assert "bf16 (not native on this CPU)" in selection.decision
    assert selection.take_message() is None


def test_auto_takes_pytorch_when_it_is_the_fastest_here(fake_openvino: FakeOpenVINO) -> None:
    fake = fake_openvino
    fake.timings = {"openvino-int8": 30.0, "openvino-fp32": 40.0, "pytorch": 20.0}
    selection = select_engine("auto", random_model(num_classes=3), imagenet_spec(),
                              cache=fake.cache)  # fmt: skip
    assert selection.name == "pytorch" and selection.active is selection.reference
    assert selection.decision.startswith("PyTorch fp32: auto, the fastest measured on this CPU")


def test_the_timings_survive_the_cache(fake_openvino: FakeOpenVINO, monkeypatch) -> None:
    from alexnet_gui.core.engines import cpu

    fake = fake_openvino
    fake.timings = {"openvino-int8": 19.0, "openvino-fp32": 29.0, "pytorch": 54.0}
    model = random_model(num_classes=3)
    first = select_engine("auto", model, imagenet_spec(), cache=fake.cache)
    assert first.name == "openvino-int8" and fake.converted == ["int8", "fp32"]
    manifests = {
        json.loads((folder / MANIFEST).read_text())["key"].split("-", 1)[1]: folder
        for folder in fake.cache.root.iterdir()
    }
    stored = json.loads((manifests["openvino-int8-ov-test"] / MANIFEST).read_text())
    assert stored["info"]["speed"]["batch1_ms"] == 19.0

    # A later start: the manifests rank the engines; only the winner is loaded, nothing is timed.
    again = select_engine("auto", random_model(num_classes=3), imagenet_spec(), cache=fake.cache)
    assert again.name == "openvino-int8" and again.timings == first.timings
    assert fake.converted == ["int8", "fp32"] and fake.loaded == ["int8"]
    assert len(fake.measured) == 1

    # Another CPU, or another thread count: measured again (not converted again).
    monkeypatch.setattr(cpu, "fingerprint", lambda threads: "another CPU")
    fake.timings = {"openvino-int8": 40.0, "openvino-fp32": 29.0, "pytorch": 54.0}
    moved = select_engine("auto", random_model(num_classes=3), imagenet_spec(), cache=fake.cache)
    assert moved.name == "openvino-fp32" and fake.converted == ["int8", "fp32"]
    assert fake.measured[-1] == ["openvino-int8", "openvino-fp32", "pytorch"]


def test_a_chosen_engine_is_timed_once_and_below_the_bar_is_a_message(
    fake_openvino: FakeOpenVINO,
) -> None:
    fake = fake_openvino
    fake.agreements = {"int8": 0.9}
    fake.timings = {"openvino-int8": 19.0}
    selection = select_engine("openvino-int8", random_model(num_classes=3), imagenet_spec(),
                              cache=fake.cache)  # fmt: skip
    assert selection.name == "openvino-int8" and fake.measured == [["openvino-int8"]]
    assert "chosen in Options > Engine" in selection.decision and "19 ms" in selection.decision
    assert "kept because you chose it" in (selection.take_message() or "")
    assert selection.timings == {"openvino-int8": 19.0}


def test_a_failed_timing_leaves_auto_working(fake_openvino: FakeOpenVINO, monkeypatch) -> None:
    from alexnet_gui.core.engines import speed

    def broken(engines, input_size):
        raise RuntimeError("no clock")

    monkeypatch.setattr(speed, "measure", broken)
    selection = select_engine("auto", random_model(num_classes=3), imagenet_spec(),
                              cache=fake_openvino.cache)  # fmt: skip
    # Unranked, the order of AUTO_CANDIDATES breaks the tie; nothing for the user to act on.
    assert selection.name == "openvino-int8" and selection.take_message() is None
    assert selection.timings == {}


def test_auto_without_openvino_is_a_decision_not_a_problem(monkeypatch) -> None:
    monkeypatch.delenv(ENGINE_ENV)
    monkeypatch.setattr(openvino, "available", lambda: False)
    selection = select_engine("auto", random_model(num_classes=3), imagenet_spec())
    assert selection.name == "pytorch" and "OpenVINO is not installed" in selection.decision
    assert selection.take_message() is None


def test_the_probe_says_what_this_cpu_runs_natively() -> None:
    """Depends on the CPU, so it says what it expects where: bf16 is native with AVX-512 BF16 or
    AMX (OpenVINO then reports BF16), not on an AVX2-only CPU such as a 2-core EPYC runner."""
    from alexnet_gui.core.engines import cpu

    assert cpu.runs_natively("pytorch") and cpu.runs_natively("openvino-fp32")
    if not openvino.available():
        assert not cpu.runs_natively("openvino-bf16")  # nothing converted runs without it
        return
    flags = set(cpu.isa_flags())
    bf16 = cpu.runs_natively("openvino-bf16")
    if os.environ.get(cpu.ISA_CAP_ENV) or platform.machine() not in ("x86_64", "AMD64"):
        assert isinstance(bf16, bool)  # a capped ISA or ARM: OpenVINO's word is all we have
    elif flags & {"avx512_bf16", "amx_bf16"}:
        assert bf16, f"this CPU has {sorted(flags)} but OpenVINO reports no BF16"
    elif "avx_ne_convert" not in flags:  # AVX2-VNNI-2 CPUs may get bf16 kernels too
        assert not bf16, f"bf16 counted as native on a CPU with only {sorted(flags)}"
    assert cpu.runs_natively("openvino-int8") == ("INT8" in cpu.capabilities())


def test_facts_only_entries_and_updated_speeds(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path)
    entry = cache.store("pytorch-key", lambda folder: {"speed": {"batch1_ms": 50.0}})
    assert list(entry.folder.iterdir()) == [entry.folder / MANIFEST]
    assert cache.peek("pytorch-key") == {"speed": {"batch1_ms": 50.0}}

    def write(folder: Path) -> dict:
        (folder / "model.bin").write_bytes(b"weights")
        return {"agreement": 1.0}

    cache.store("key", write)
    assert cache.update_info("key", {"speed": {"batch1_ms": 9.0}})
    loaded = cache.load("key")  # the files' hashes still match: only the manifest changed
    assert loaded is not None and loaded.info == {"agreement": 1.0, "speed": {"batch1_ms": 9.0}}
    assert not cache.update_info("gone", {"speed": {}}) and cache.peek("gone") is None


def test_an_engine_that_cannot_be_built_falls_back_with_a_message(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("conversion exploded")

    monkeypatch.setattr(openvino, "available", lambda: True)
    monkeypatch.setattr(openvino, "cache_version", lambda: "ov-test")  # whether installed or not
    monkeypatch.setattr(openvino, "load_or_build", broken)
    selection = select_engine("openvino-int8", random_model(num_classes=3), imagenet_spec())
    assert selection.name == "pytorch"
    message = selection.take_message() or ""
    assert "conversion exploded" in message and message.endswith("Using PyTorch.")


def test_a_missing_runtime_falls_back_with_a_message(monkeypatch) -> None:
    monkeypatch.setattr(openvino, "available", lambda: False)
    selection = select_engine("openvino-bf16", random_model(num_classes=3), imagenet_spec())
    assert selection.name == "pytorch" and "not installed" in (selection.take_message() or "")


def test_an_engine_that_raises_while_running_is_replaced_by_pytorch(monkeypatch) -> None:
    model = random_model(num_classes=3)
    classifier = Classifier(LoadedModel(model, three_class_spec()), device="cpu")
    failing = FakeEngine("openvino-int8", 1.0, fail=True)
    classifier.engine = SelectedEngine("openvino-int8", failing, classifier.engine.reference)
    prediction = classifier.classify(Image.new("RGB", (64, 48), "red"), topk=3)
    assert classifier.engine.name == "pytorch" and prediction.device == "cpu"
    assert "the device went away" in (classifier.engine.take_message() or "")


def test_names_are_checked_and_the_variable_only_changes_auto(monkeypatch) -> None:
    monkeypatch.setenv(ENGINE_ENV, "openvino-fp32")
    assert resolve_name("auto") == "openvino-fp32"
    assert resolve_name("pytorch") == "pytorch"
    with pytest.raises(UserFacingError, match="Unknown engine"):
        resolve_name("tensorrt")


# -- the command line --------------------------------------------------------------------------


@needs_openvino
def test_cli_engine_option(
    int8_selection, engine_cache_home, photo_folder, photo_classifier_file, capsys, monkeypatch,
    counted_conversions,
) -> None:  # fmt: skip
    monkeypatch.setenv("XDG_CACHE_HOME", str(engine_cache_home))  # converted by the fixture
    chelsea = photo_folder / "chelsea.jpg"
    weights = str(photo_classifier_file)
    common = ["classify", str(chelsea), "--weights", weights, "--json", "--topk", "1"]
    assert main([*common, "--engine", "pytorch"]) == 0
    capsys.readouterr()
    assert main([*common, "--engine", "openvino-int8"]) == 0
    out, err = capsys.readouterr()
    answer = json.loads(out)[0]["predictions"][0]
    preprocessing = int8_selection.spec.preprocessing
    expected = int8_selection.selection.run(file_tensor(chelsea, preprocessing)[None])
    assert answer["index"] == int(expected.argmax()) and "Traceback" not in err
    assert counted_conversions == []  # the fixture's engine, found by the weights' hash
    with pytest.raises(SystemExit) as usage:
        main([*common, "--engine", "tensorrt"])
    assert usage.value.code == 2


# -- fast pre-processing ------------------------------------------------------------------------


def _probabilities(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.softmax(model(batch), dim=1)


def test_fast_paths_stay_within_one_percent_of_the_still_image_path(
    photo_folder: Path, tmp_path: Path
) -> None:
    model, pre = random_model(num_classes=10, seed=1), imagenet_spec().preprocessing
    reference, fast = [], []
    for name in ("chelsea", "coffee", "astronaut", "rocket"):
        path = photo_folder / f"{name}.jpg"
        still = eval_transform(pre)(Image.open(path).convert("RGB"))
        reference += [still, still]
        fast += [file_tensor(path, pre), frame_tensor(np.asarray(Image.open(path)), pre)]
    gap = _probabilities(model, torch.stack(reference)) - _probabilities(model, torch.stack(fast))
    assert float(gap.abs().max()) <= 0.01

    rotated = tmp_path / "rotated.jpg"  # EXIF orientation 6: both paths must turn it upright
    photo = Image.open(photo_folder / "chelsea.jpg")
    exif = photo.getexif()
    exif[0x0112] = 6
    photo.save(rotated, exif=exif, quality=90)
    upright = eval_transform(pre)(load_image(rotated))
    assert float((file_tensor(rotated, pre) - upright).abs().max()) < 0.1

    png = tmp_path / "chelsea.png"
    Image.open(photo_folder / "chelsea.jpg").save(png)
    assert torch.equal(file_tensor(png, pre), eval_transform(pre)(Image.open(png).convert("RGB")))
    with pytest.raises(ImageLoadError):
        file_tensor(photo_folder / "broken.jpg", pre)


def test_classify_paths_keeps_order_and_reports_errors(
    photo_folder: Path, photo_classifier: LoadedModel
) -> None:
    classifier = Classifier(photo_classifier, device="cpu")  # trained: its top-1 is no near-tie
    paths = sorted(photo_folder.iterdir())
    rows = list(classify_paths(classifier, paths, topk=2, batch_size=2))
    assert [row[0] for row in rows] == paths
    assert [row[2] is not None for row in rows] == [p.name == "broken.jpg" for p in paths]
    chelsea = next(row[1] for row in rows if row[0].name == "chelsea.jpg")
    still = classifier.classify(Image.open(photo_folder / "chelsea.jpg"), topk=2)
    assert chelsea.top1.index == still.top1.index
    assert abs(chelsea.top1.probability - still.top1.probability) <= 0.01


def test_fast_path_keeps_the_still_paths_guards(tmp_path: Path) -> None:
    pre = imagenet_spec().preprocessing
    thin = tmp_path / "thin.jpg"  # 40:1: only a centred part of the long side is resized
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (12, 480, 3), np.uint8)).save(thin)
    reference = eval_transform(pre)(load_image(thin))
    assert float((file_tensor(thin, pre) - reference).abs().max()) < 0.1
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "camera.jpg"
        os.mkfifo(fifo)  # reading it would block forever
        with pytest.raises(ImageLoadError, match="not a regular file"):
            file_tensor(fifo, pre)


def test_a_truncated_jpeg_is_an_error_on_the_fast_path_too(photo_folder: Path, tmp_path) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes((photo_folder / "chelsea.jpg").read_bytes()[:-2000])
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        load_image(cut)
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        file_tensor(cut, imagenet_spec().preprocessing)
