"""Training: trainer and callbacks, run store, checkpoints, datasets, jobs, DDP, recipes.

The names below are the public API. They are imported lazily, so that
``from medlearn.train.device import pick_device`` stays cheap for the predictor.
"""

from importlib import import_module

_PUBLIC = {
    "Callback": "events", "Checkpointing": "callbacks", "EarlyStopping": "callbacks",
    "MetricsCallback": "recorder", "ProgressBar": "callbacks", "RunLogging": "callbacks",
    "StopFlag": "callbacks",
    "Streaming": "callbacks", "load_checkpoint": "checkpoints", "save_checkpoint": "checkpoints",
    "TrainConfig": "config", "pick_device": "device", "RunRecord": "store", "RunStore": "store",
    "Trainer": "trainer", "JobManager": "jobs", "shared_manager": "jobs", "train_recipe": "recipes",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(f"medlearn.train.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'medlearn.train' has no attribute {name!r}")
