"""The fast start path: a cached engine found by the weights file's hash and run without torch,
answering exactly what the Classifier answers with the same engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alexnet_gui.core.engines import cpu, openvino_runtime
from alexnet_gui.core.engines.cache import MANIFEST, EngineCache
from alexnet_gui.core.engines.names import ENGINE_ENV
from alexnet_gui.core.engines.openvino_runtime import MODEL_XML
from alexnet_gui.core.errors import WeightsError
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.inference.quick import QuickClassifier, default_threads, find_quick_engine
from alexnet_gui.core.models import imagenet
from alexnet_gui.core.models.weights import load_weights
from tests.fixtures.engines import NEEDS_OPENVINO

needs_openvino = pytest.mark.skipif(not openvino_runtime.available(), reason=NEEDS_OPENVINO)
INT8 = "openvino-int8"


@pytest.fixture
def warm_cache(int8_selection, engine_cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session's engine cache (``photo_classifier_file``'s int8 engine), ``auto`` real."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(engine_cache_home))
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    return engine_cache_home


@pytest.fixture
def own_cache(warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EngineCache:
    """A copy of the warm cache that a test may change, in use instead of the shared one."""
    shutil.copytree(warm_cache / "alexnet-gui" / "engines", tmp_path / "alexnet-gui" / "engines")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return EngineCache()


@needs_openvino
def test_quick_answers_exactly_what_the_classifier_answers(
    warm_cache: Path, photo_classifier_file: Path, real_photos
) -> None:
    quick = find_quick_engine(photo_classifier_file, engine=INT8)
    assert isinstance(quick, QuickClassifier) and quick.engine_name == INT8
    reference = Classifier(load_weights(photo_classifier_file), device="cpu", engine=INT8)
    assert reference.engine.name == INT8  # the same cached engine, loaded by the torch path
    assert quick.model_info() == reference.info
    assert quick.spec == reference.spec
    images = [image for _, image in real_photos[::3]]
    for tta in (False, True):
        ours = quick.classify_batch(images, 3, tta=tta)
        theirs = reference.classify_batch(images, topk=3, tta=tta)
        for mine, expected in zip(ours, theirs, strict=True):
            assert [s.index for s in mine.scores] == [s.index for s in expected.scores]
            assert [s.label for s in mine.scores] == [s.label for s in expected.scores]
            np.testing.assert_allclose(
                [s.probability for s in mine.scores],
                [s.probability for s in expected.scores],
                atol=1e-5,
            )
            assert (mine.device, mine.model_name, mine.tta) == (
                expected.device, expected.model_name, tta,
            )  # fmt: skip
    one = quick.classify(images[0], topk=2)  # the Classifier's keyword works too
    assert len(one.scores) == 2 and one.scores[0].rank == 1


@needs_openvino
def test_finding_and_running_the_engine_imports_no_torch(
    warm_cache: Path, photo_classifier_file: Path, chelsea_png: Path, int8_selection
) -> None:
    script = f"""
import json, sys
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.inference.quick import find_quick_engine
quick = find_quick_engine({str(photo_classifier_file)!r}, engine={INT8!r})
prediction = quick.classify(load_image({str(chelsea_png)!r}), top_k=1)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision"))
print(json.dumps({{"index": prediction.top1.index, "loaded": loaded}}))
"""
    env = {**os.environ, "XDG_CACHE_HOME": str(warm_cache)}
    env.pop(ENGINE_ENV, None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["loaded"] == []
    from alexnet_gui.core.imaging.decode import load_image
    from alexnet_gui.core.imaging.preprocess import eval_transform

    spec = int8_selection.spec
    logits = int8_selection.selection.run(eval_transform(spec.preprocessing)(
        load_image(chelsea_png))[None])  # fmt: skip
    assert answer["index"] == int(logits.argmax())


@needs_openvino
def test_a_copy_of_the_weights_finds_the_same_engine_under_its_own_name(
    warm_cache: Path, photo_classifier_file: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "renamed.pth"
    shutil.copyfile(photo_classifier_file, copy)
    quick = find_quick_engine(copy, engine=INT8)
    assert quick is not None
    info = quick.model_info()
    assert (info.name, info.source) == ("renamed.pth", str(copy))
    # A plain state_dict with 14 outputs: numbered classes, as load_weights names them.
    assert quick.spec == load_weights(copy).spec
    assert info.categories[:2] == ("class 0", "class 1")


@needs_openvino
def test_no_quick_engine_without_a_cached_one(
    warm_cache: Path, photo_classifier_file: Path, state_dict_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert find_quick_engine(state_dict_file) is None  # other weights: nothing converted yet
    assert find_quick_engine(photo_classifier_file, engine="pytorch") is None
    assert find_quick_engine(photo_classifier_file, engine="openvino-fp32") is None  # not built
    assert find_quick_engine(photo_classifier_file, engine="tensorrt") is None
    monkeypatch.setenv(ENGINE_ENV, "pytorch")  # auto means pytorch
    assert find_quick_engine(photo_classifier_file) is None
    monkeypatch.delenv(ENGINE_ENV)
    assert find_quick_engine(None) is None  # no ImageNet file in this test's torch hub
    monkeypatch.setattr(openvino_runtime, "available", lambda: False)
    assert find_quick_engine(photo_classifier_file, engine=INT8) is None


def test_an_unreadable_weights_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        find_quick_engine(tmp_path / "missing.pth", engine=INT8)
    with pytest.raises(WeightsError, match="Not a file"):
        find_quick_engine(tmp_path, engine=INT8)


@needs_openvino
def test_a_damaged_or_old_cache_is_no_quick_engine_and_no_crash(
    own_cache: EngineCache, photo_classifier_file: Path
) -> None:
    (folder,) = [p for p in own_cache.root.iterdir() if "-openvino-int8-" in p.name]
    # The old key scheme (a hash of the loaded state): simply not found.
    digest = folder.name.split("-")[0]
    old = folder.rename(folder.with_name(folder.name.replace(digest, "0" * 64)))
    assert find_quick_engine(photo_classifier_file, engine=INT8) is None
    old.rename(folder)
    assert find_quick_engine(photo_classifier_file, engine=INT8) is not None
    info = json.loads((folder / MANIFEST).read_text())
    del info["info"]["spec"]  # written before the fast start path
    (folder / MANIFEST).write_text(json.dumps(info))
    assert find_quick_engine(photo_classifier_file, engine=INT8) is None
    (folder / MANIFEST).write_text("{not json")
    assert find_quick_engine(photo_classifier_file, engine=INT8) is None


@needs_openvino
def test_auto_follows_the_speeds_and_agreement_in_the_manifests(
    own_cache: EngineCache, photo_classifier_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpu, "capabilities", lambda: frozenset({"FP32", "INT8"}))  # no bf16
    digest = own_cache.file_digest(photo_classifier_file)
    threads = default_threads()

    def speed(ms: float) -> dict:
        return {"batch1_ms": ms, "batch_ms": ms * 3, "batch": 4,
                "fingerprint": cpu.fingerprint(threads + 1)}  # another thread count still counts

    def facts(name: str, ms: float, agreement: float = 1.0) -> None:
        key = openvino_runtime.engine_key(digest, name)
        if own_cache.peek(key) is None:
            own_cache.store(key, lambda _folder: {"engine": name})
        own_cache.update_info(key, {"speed": speed(ms), "agreement": agreement})

    facts(INT8, 10.0)
    facts("pytorch", 40.0)
    assert find_quick_engine(photo_classifier_file, threads=threads) is None  # fp32 not built
    facts("openvino-fp32", 20.0)
    found = find_quick_engine(photo_classifier_file, threads=threads)
    assert found is not None and found.engine_name == INT8
    facts(INT8, 10.0, agreement=0.9)  # below the bar: fp32 would win, and it has no model here
    assert find_quick_engine(photo_classifier_file, threads=threads) is None
    facts(INT8, 10.0)
    facts("pytorch", 5.0)  # PyTorch measured fastest: the torch path runs
    assert find_quick_engine(photo_classifier_file, threads=threads) is None
    facts("pytorch", 40.0)
    key = openvino_runtime.engine_key(digest, INT8)
    stale = {**speed(10.0), "fingerprint": "another CPU|x86_64|threads=2|cap="}
    own_cache.update_info(key, {"speed": stale})  # measured elsewhere: the torch path measures
    assert find_quick_engine(photo_classifier_file, threads=threads) is None


def test_the_imagenet_spec_needs_no_torchvision() -> None:
    spec = imagenet.imagenet_spec()
    assert spec.num_classes == 1000 and spec.preprocessing.crop_size == 224
    assert imagenet.spec_from_record(imagenet.spec_record(spec), spec.source) == spec
    assert imagenet.spec_record(spec)["categories"] == imagenet.IMAGENET_CATEGORIES


@needs_openvino
def test_the_imagenet_file_is_found_where_the_torch_path_finds_it(
    imagenet_weights_installed: Path, chelsea_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``weights=None``: the key comes from the ImageNet file found in torch.hub's cache."""
    from alexnet_gui.core.imaging.decode import load_image

    monkeypatch.delenv(ENGINE_ENV, raising=False)
    fp32 = "openvino-fp32"
    assert find_quick_engine(None, engine=fp32) is None  # nothing converted yet: the torch path
    reference = Classifier(load_weights(None), device="cpu", engine=fp32)  # converts and caches
    quick = find_quick_engine(None, engine=fp32)
    assert quick is not None
    assert quick.spec == reference.spec and quick.spec.name == imagenet.NAME
    assert quick.model_info() == reference.info
    assert quick.spec.source == str(imagenet_weights_installed)
    image = load_image(chelsea_png)
    ours, theirs = quick.classify(image, 5), reference.classify(image, topk=5)
    assert [s.index for s in ours.scores] == [s.index for s in theirs.scores]
    np.testing.assert_allclose(
        [s.probability for s in ours.scores], [s.probability for s in theirs.scores], atol=1e-5
    )
    manifest = json.loads(next(EngineCache().root.glob(f"*-{fp32}-*/{MANIFEST}")).read_text())
    facts = manifest["info"]
    assert facts["spec"]["categories"] == imagenet.IMAGENET_CATEGORIES  # a pointer, not 1000 names
    assert (facts["precision"], facts["model_xml"], facts["input_size"]) == ("fp32", MODEL_XML, 224)
    assert facts["weights_kind"] == "imagenet"
