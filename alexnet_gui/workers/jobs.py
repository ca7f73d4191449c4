"""One-off background jobs, each on its own thread: the weights download, training, Find Similar.

:class:`Job` is the base of tasks that need no shared model: each runs on a fresh QThread, is
cancelled cooperatively, and reports through signals. :class:`JobRunner` keeps them alive while
they run and stops and joins them all at shutdown.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from alexnet_gui.core.errors import UserFacingError

log = logging.getLogger(__name__)

class Job(QObject):
    """A one-off task run on its own QThread by :class:`JobRunner`.

    Subclasses implement :meth:`run`, which returns the result or raises; they report progress
    with :meth:`report` and poll :meth:`is_cancelled` between steps.

    Signals:
        progressed(qint64, qint64): units done and total (-1 when the total is unknown).
        completed(object): :meth:`run` returned this.
        failed(str): :meth:`run` raised; one line for the user.
        ended(): always last, after ``completed`` or ``failed``.
    """

    progressed = pyqtSignal("qint64", "qint64")
    completed = pyqtSignal(object)
    failed = pyqtSignal(str)
    ended = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()

    def run(self) -> object:
        raise NotImplementedError

    def cancel(self) -> None:
        """Ask the job to stop at its next check; thread-safe."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, done: int, total: int | None) -> None:
        self.progressed.emit(int(done), -1 if total is None else int(total))

    @pyqtSlot()
    def _on_thread_started(self) -> None:
        try:
            result = self.run()
        except UserFacingError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("%s failed", type(self).__name__)
            self.failed.emit(f"{type(self).__name__} failed unexpectedly: {exc}")
        else:
            self.completed.emit(result)
        self.ended.emit()


class DownloadJob(Job):
    """Download the ImageNet weights (or ``url``); ``completed`` gets the saved path."""

    def __init__(
        self, url: str | None = None, *, dest_dir: Path | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__()
        self.url = url
        self.dest_dir = dest_dir
        self.timeout = timeout

    def run(self) -> Path:
        from alexnet_gui.core.models.download import download_weights

        return download_weights(
            self.url,
            dest_dir=self.dest_dir,
            progress=self.report,
            is_cancelled=self.is_cancelled,
            timeout=self.timeout,
        )


class JobRunner(QObject):
    """Starts jobs on their own threads and joins them all in :meth:`shutdown`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[Job, QThread] = {}

    def start(self, job: Job) -> Job:
        """Run ``job`` on a new thread; connect to its signals before calling this."""
        thread = QThread()
        thread.setObjectName(f"job-{type(job).__name__}")
        job.moveToThread(thread)
        thread.started.connect(job._on_thread_started)
        job.ended.connect(thread.quit)
        thread.finished.connect(functools.partial(self._on_thread_finished, job))
        self._running[job] = thread
        thread.start()
        return job

    def make_download(
        self, url: str | None = None, *, dest_dir: Path | None = None, timeout: float = 30.0
    ) -> DownloadJob:
        """A download job for the caller to connect to and then :meth:`start`.

        A factory on the runner lets the UI make jobs without importing this module (which the
        layering rules keep out of ``alexnet_gui.ui``).
        """
        return DownloadJob(url, dest_dir=dest_dir, timeout=timeout)

    def _on_thread_finished(self, job: Job) -> None:
        thread = self._running.pop(job, None)
        if thread is not None:
            thread.wait()  # ``finished`` comes just before the thread really ends

    def running(self) -> list[Job]:
        return list(self._running)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel every job and wait for its thread; ``True`` if all stopped in time."""
        stopped = True
        for job, thread in list(self._running.items()):
            job.cancel()
            thread.quit()
            if not thread.wait(timeout_ms):
                log.error("%s did not stop within %d ms", type(job).__name__, timeout_ms)
                stopped = False
        self._running.clear()
        return stopped
