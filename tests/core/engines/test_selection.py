"""auto, measured: the engines this CPU runs natively, timed once, the fastest that keeps the bar;
decisions kept apart from problems. OpenVINO, the probe and the timings are faked, so these hold on
any CPU."""

from __future__ import annotations

import json
import os
import platform

import pytest

from alexnet_gui.core.engines import openvino
from alexnet_gui.core.engines.cache import MANIFEST
from alexnet_gui.core.engines.names import ENGINE_ENV
from alexnet_gui.core.engines.select import select_engine
from alexnet_gui.core.models.weights import imagenet_spec
from tests.fixtures.engines import FakeOpenVINO
from tests.fixtures.models import random_model


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
