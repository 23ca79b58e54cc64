"""``ui.train.jobs.wait_words``: a queued first-visit job says where it stands and, from earlier runs
of the same recipes on this server, about how long until it is ready (issue 16, item 8)."""

from types import SimpleNamespace

import ui.train.jobs
from medlearn.train.store import RunStore


def _job(i, status, arch="unet"):
    return SimpleNamespace(id=i, status=status, kwargs={"case_key": "heart", "arch": arch, "source": "phantoms"})


def test_queue_position_and_an_estimate_from_earlier_runs(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs.db")
    jobs = [_job(1, "running"), _job(2, "queued"), _job(3, "queued")]
    fake = SimpleNamespace(jobs=lambda: jobs, store=store, max_workers=1)
    monkeypatch.setattr(ui.train.jobs, "manager", lambda: fake)
    words = ui.train.jobs.wait_words(3)
    assert "1 job queued ahead of this one, 1 training now" in words and "no earlier run" in words
    # two finished runs of this recipe took 120 s each (a phantom run of another recipe is not counted)
    runs = [SimpleNamespace(source="phantoms", seconds=120.0)] * 2 + [SimpleNamespace(source="sunnybrook", seconds=9.0)]
    monkeypatch.setattr(store, "list_runs", lambda **kw: runs)
    words = ui.train.jobs.wait_words(3)
    # ahead 120 s + running 120/2 s on one worker, then its own 120 s: 300 s
    assert "Ready in about 5 min" in words
    assert "next in line" in ui.train.jobs.wait_words(2)
