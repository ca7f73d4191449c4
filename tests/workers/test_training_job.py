"""The training job's own logic, called synchronously (the real thread runs in tests/ui)."""

from __future__ import annotations

from alexnet_gui.core.training.state import TrainProgress
from alexnet_gui.workers.training_job import TrainingJob


def test_batch_reports_are_thinned_but_ends_always_pass(qapp):
    job = TrainingJob({})
    got: list[TrainProgress] = []
    job.reported.connect(got.append)
    job._on_train_progress(TrainProgress("setup", 0, 1, message="go"))
    for batch in range(1, 201):
        job._on_train_progress(TrainProgress("train", 1, 1, batch=batch, batches=200))
    job._on_train_progress(TrainProgress("epoch", 1, 1, loss=0.5, train_acc=1.0))
    phases = [(p.phase, p.batch) for p in got]
    assert phases[0] == ("setup", 0) and phases[-2:] == [("train", 200), ("epoch", 0)]
    assert len(got) < 20  # 200 batches in well under a second


def test_the_data_loader_always_runs_in_the_job_thread(qapp, tmp_path, monkeypatch):
    seen = {}

    def fake_train(config, *, on_progress, is_cancelled):
        seen["workers"], seen["cancelled"] = config.workers, is_cancelled()
        return "result"

    monkeypatch.setattr("alexnet_gui.core.training.loop.train", fake_train)
    job = TrainingJob({"data_dir": tmp_path, "out": tmp_path / "m.pt", "workers": 4})
    assert job.run() == "result" and seen == {"workers": 0, "cancelled": False}
