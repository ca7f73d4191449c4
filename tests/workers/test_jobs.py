"""One-off jobs on their own threads: the weights download against a local HTTP server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from alexnet_gui.workers.jobs import DownloadJob, Job, JobRunner

TIMEOUT = 20_000


def hashed_name(body: bytes, stem: str = "alexnet-test") -> str:
    """A file name with the SHA-256 prefix core.models.download checks, as torch.hub names files."""
    return f"{stem}-{hashlib.sha256(body).hexdigest()[:8]}.pth"


@pytest.fixture
def runner(qapp):
    runner = JobRunner()
    yield runner
    assert runner.shutdown(10_000)


def test_download_reports_progress_and_the_saved_path(qtbot, runner, weights_server, tmp_path):
    body = bytes(range(256)) * 2048  # 512 KiB in 8 chunks
    url = weights_server.add(f"/{hashed_name(body)}", body)
    job = runner.make_download(url, dest_dir=tmp_path)
    progress: list[tuple[int, int]] = []
    job.progressed.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignals([job.completed, job.ended], timeout=TIMEOUT) as blocker:
        runner.start(job)
    path = Path(blocker.all_signals_and_args[0].args[0])
    assert path.parent == tmp_path and path.read_bytes() == body
    assert progress[-1] == (len(body), len(body))


def test_download_offline_gives_one_line(qtbot, runner, refused_url, tmp_path):
    job = runner.make_download(refused_url, dest_dir=tmp_path, timeout=2)
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        runner.start(job)
    message = blocker.args[0]
    assert "offline" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_download_cancel_leaves_nothing(qtbot, runner, weights_server, tmp_path):
    body = b"x" * (64 * 1024 * 40)
    url = weights_server.add(f"/{hashed_name(body)}", body, delay=0.05)
    job = runner.make_download(url, dest_dir=tmp_path)
    job.progressed.connect(lambda done, _total: job.cancel() if done > 0 else None)
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        runner.start(job)
    assert "cancelled" in blocker.args[0]
    qtbot.waitUntil(lambda: not runner.running(), timeout=TIMEOUT)
    assert list(tmp_path.iterdir()) == []


class _Boom(Job):
    def run(self) -> object:
        raise RuntimeError("kaput")


def test_unexpected_job_error_is_reported_not_raised(qtbot, runner):
    job = _Boom()
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        runner.start(job)
    assert "kaput" in blocker.args[0]


def test_shutdown_cancels_and_joins_a_running_download(qtbot, qapp, weights_server, tmp_path):
    body = b"y" * (64 * 1024 * 100)
    url = weights_server.add(f"/{hashed_name(body)}", body, delay=0.05)
    runner = JobRunner()
    job = DownloadJob(url, dest_dir=tmp_path)
    with qtbot.waitSignal(job.progressed, timeout=TIMEOUT):
        runner.start(job)
    assert runner.running() == [job]
    assert runner.shutdown(10_000)
    assert runner.running() == []
    assert not any(tmp_path.iterdir())
