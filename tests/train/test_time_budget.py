"""TimeBudget fits a run into its seconds (first-visit models, issue 16), on a fake clock."""

from types import SimpleNamespace

import pytest

import medlearn.train.callbacks as callbacks
from medlearn.train.callbacks import TimeBudget
from medlearn.train.config import TrainConfig
from medlearn.train.data import ArrayDataset
from medlearn.train.recipes import OneCycle
from medlearn.train.trainer import Trainer
from train_helpers import TinyClassifier, tensors


class Clock:
    """Each training batch takes ``per_batch`` seconds, each validation batch a third of it."""

    def __init__(self, per_batch: float):
        self.now, self.per_batch = 0.0, per_batch

    def monotonic(self) -> float:
        return self.now

    def before_batch(self, trainer) -> None:  # the batch's time has passed when its end is seen
        self.now += self.per_batch if trainer.training else self.per_batch / 3


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(1.0)
    monkeypatch.setattr(callbacks, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


def _trainer(clock, seconds, epochs=10):
    x, y = tensors(16)
    data = ArrayDataset(x, y, [str(i) for i in range(16)])
    budget, schedule = TimeBudget(seconds), OneCycle()
    trainer = Trainer(TinyClassifier(), data, data, TrainConfig(epochs=epochs, batch_size=4, learning_rate=0.01),
                      [schedule, budget])
    trainer.set_callback("before_batch", clock.before_batch)
    return trainer, budget, schedule


def test_a_tight_budget_shortens_the_run_and_the_schedule_still_anneals(clock):
    # an epoch: 4 training batches (4 s) + 4 validation batches (4/3 s): 5.3 s; 12 s fit 2 epochs
    trainer, budget, schedule = _trainer(clock, seconds=12)
    history = trainer.fit()
    assert len(history) == 2 and budget.epochs_fit == 2 and trainer.config.epochs == 2
    assert trainer.status == "done" and trainer.stop_reason == "time_budget"
    assert schedule.schedule.total_steps == 2 * 4  # planned again over the shorter run
    assert trainer.optimizer.param_groups[0]["lr"] < 0.01 / 100  # ended annealed, not at the peak


def test_at_least_one_epoch_runs_however_small_the_budget(clock):
    trainer, budget, _ = _trainer(clock, seconds=0.5)
    assert len(trainer.fit()) == 1 and trainer.status == "done"


def test_a_generous_budget_changes_nothing(clock):
    trainer, budget, schedule = _trainer(clock, seconds=1000, epochs=3)
    assert len(trainer.fit()) == 3 and trainer.stop_reason is None and trainer.config.epochs == 3
    assert schedule.schedule.total_steps == 3 * 4


def test_a_machine_that_gets_busier_is_stopped_after_the_epoch(clock):
    trainer, budget, _ = _trainer(clock, seconds=17)  # the probe says 3 epochs (16 s) fit
    trainer.set_callback("after_epoch", lambda t: setattr(clock, "per_batch", 3.0))  # then batches take 3 s
    history = trainer.fit()
    assert budget.epochs_fit == 3 and len(history) == 2 and trainer.stop_reason == "time_budget"


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError):
        TimeBudget(0)


@pytest.mark.parametrize("batches", [1, 2, 3, 5])
def test_one_cycle_copes_with_runs_of_a_few_steps(batches):
    data = ArrayDataset(*tensors(4 * batches), [str(i) for i in range(4 * batches)])
    trainer = Trainer(TinyClassifier(), data, data, TrainConfig(epochs=1, batch_size=4, learning_rate=0.01),
                      [OneCycle()])
    assert len(trainer.fit()) == 1 and trainer.status == "done"
