"""Checkpoints with fresh weights, recorded as finished runs, for page and browser tests."""

import os

import torch

from medlearn.cases import get_case


def make_checkpoint(case_key: str, arch: str | None = None, score: float = 0.5, quick: bool = False) -> str:
    """A fresh-weights checkpoint of the case's default network, recorded as a done run with
    ``score`` as its validation score on the case's main metric; ``quick``: recorded as a
    first-visit model (trained within a time budget)."""
    from medlearn.models import get_model
    from medlearn.train.checkpoints import save_checkpoint
    from medlearn.train.plan import make_plan
    from medlearn.train.recipes import model_meta
    from medlearn.train.store import RunStore

    case = get_case(case_key)
    arch = arch or case.recipe.first_network
    plan = make_plan(case, arch, "phantoms", width=8, time_budget_s=40.0 if quick else None)
    torch.manual_seed(0)
    model = get_model(arch, in_channels=case.task.in_channels, num_classes=case.task.num_classes,
                      spatial_dims=plan.model_dims, width=plan.width, input_size=plan.input_size)
    metrics = {case.metrics[0]: score}
    path = os.path.join(os.environ["MEDLEARN_HOME"], "checkpoints", case.key, arch, "test.safetensors")
    save_checkpoint(model, {**model_meta(plan, case), "metrics": metrics}, path)
    store = RunStore()
    run = store.create_run(case.key, arch, "phantoms", plan.to_dict())
    store.finish(run, "done", metrics=metrics, checkpoint=path)
    return path
