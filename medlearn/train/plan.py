"""A recipe resolved for one run: the case's defaults overridden by the caller's choices."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from medlearn.errors import MedlearnInputError
from medlearn.train.enhancement import check_enhance


@dataclass(frozen=True)
class RunPlan:
    """Everything that decides a run's result (its hash names the checkpoint).

    Attributes:
        case, arch, source: what is trained on what data.
        model_dims: 2 or 3, the model's spatial dimensions.
        epochs, batch_size, learning_rate, width, input_size: training and model sizes.
        n_train, n_val: items (patients/volumes) in each split, before slicing.
        seed: split, initialisation and batch-order seed.
        enhance: ``"ace"`` or ``"clahe"`` applied to every image before resizing, or None.
        enhance_params: keywords of that enhancement (empty: its defaults).
    """

    case: str
    arch: str
    source: str
    model_dims: int
    epochs: int
    batch_size: int
    learning_rate: float
    width: int
    input_size: int
    n_train: int
    n_val: int
    seed: int
    enhance: str | None = None
    enhance_params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready fields; without ``enhance*`` when there is none, so raw-image runs keep
        the checkpoint names they had before the option existed."""
        d = asdict(self)
        if self.enhance is None:
            del d["enhance"], d["enhance_params"]
        return d


def model_dims_of(arch: str, case) -> int:
    """Spatial dimensions of architecture ``arch`` from the model registry's spec."""
    if arch == "classic":
        return case.task.spatial_dims
    from medlearn.models import list_models

    for spec in list_models():
        if spec.name == arch:
            options = (spec.spatial_dims,) if isinstance(spec.spatial_dims, int) else tuple(spec.spatial_dims)
            fits = [d for d in options if d in case.task.model_dims]
            return min(fits) if fits else options[0]  # a model for both: 2D (its 3D twin has its own name)
    from medlearn.models import get_model  # raises UnknownNameError with the known names

    get_model(arch, in_channels=1, num_classes=2)
    raise MedlearnInputError(f"Model {arch!r} has no spec.")


def make_plan(case, arch: str, source: str, *, epochs=None, input_size=None, n_train=None, n_val=None, seed=0,
              batch_size=None, width=None, learning_rate=None, enhance=None, enhance_params=None) -> RunPlan:
    """Fill unset choices from ``case.recipe`` and check them (a 2D model of a 3D case
    takes the recipe's ``batch_size_2d``, as it trains on slices)."""
    r = case.recipe
    enhance, enhance_params = check_enhance(enhance, enhance_params)
    dims = model_dims_of(arch, case)
    default_batch = r.batch_size_2d if (dims == 2 and case.task.spatial_dims == 3 and r.batch_size_2d) else r.batch_size
    plan = RunPlan(case=case.key, arch=arch, source=source, model_dims=dims,
                   epochs=int(epochs or r.epochs), batch_size=int(batch_size or default_batch),
                   learning_rate=float(learning_rate or r.learning_rate), width=int(width or r.width),
                   input_size=int(input_size or r.input_size), n_train=int(n_train or r.train_cases),
                   n_val=int(n_val if n_val is not None else r.val_cases), seed=int(seed),
                   enhance=enhance, enhance_params=enhance_params)
    if plan.model_dims not in case.task.model_dims:
        raise MedlearnInputError(f"{arch} is a {plan.model_dims}D model; the {case.title} case takes "
                                 f"{' or '.join(f'{d}D' for d in case.task.model_dims)} models.")
    for name in ("epochs", "batch_size", "n_train"):
        if getattr(plan, name) < 1:
            raise MedlearnInputError(f"{name.replace('_', ' ')} must be at least 1.")
    if not 8 <= plan.input_size <= 1024:
        raise MedlearnInputError(f"Input size {plan.input_size} is out of range; use 8 to 1024 pixels.")
    if plan.n_val < 1:
        raise MedlearnInputError("Keep at least one item for validation.")
    return plan
