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
        init: starting weights: ``"scratch"`` (random), ``"imagenet"`` (the torch cache's
            published weights), ``"phantoms"`` (sim-to-real: the same network pre-trained on
            this case's phantoms first, then fine-tuned) or ``"medlearn:<checkpoint path>"``
            (warm start from another MedLearn checkpoint, e.g. the same network on another case).
        augment: ``True`` (the recipe's augmentation: ``"flips"``), ``"strong"`` (flips plus small
            rotations, zooms and intensity changes) or ``False`` (none); validation never changes.
        balanced: class-balanced batches for a classifier (each class drawn equally often).
        fold: ``"k/K"`` (cross-validation, 1-based ``k``): fold ``k`` of ``K`` patient-level
            folds is held out instead of ``n_val`` items (see ``train.data.split_items``).
        crop: the central fraction of the field of view the model sees (its region of
            interest), or None for the whole image.
        train_fraction: the share of the training split used, ``0 < f <= 1``: whole patients
            (or items) drawn with the seed (``train.data.training_share``); validation is unchanged.
        label_noise: the share of the used training labels flipped at random to another class,
            ``0 <= p < 1`` (classification only; validation labels stay true).
        time_budget_s: seconds the run may train (a first-visit model: the epochs that fit,
            ``train.callbacks.TimeBudget``), or None: all its epochs.
        tile: a 2D segmenter of large photographs trains on random crops of this side at
            ``input_size`` and answers the whole image at that size (:mod:`medlearn.tiling`), or None.
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
    init: str = "scratch"
    augment: bool | str = True
    crop: float | None = None
    balanced: bool = False
    fold: str | None = None
    train_fraction: float = 1.0
    label_noise: float = 0.0
    time_budget_s: float | None = None
    tile: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready fields; options at their defaults (no enhancement, ``init="scratch"``,
        ``augment=True``) are left out, so such runs keep the checkpoint names they had
        before the options existed."""
        d = asdict(self)
        if self.enhance is None:
            del d["enhance"], d["enhance_params"]
        if self.init == "scratch":
            del d["init"]
        if self.augment is True:
            del d["augment"]
        if self.crop is None:
            del d["crop"]
        if not self.balanced:
            del d["balanced"]
        if self.fold is None:
            del d["fold"]
        if self.train_fraction == 1.0:
            del d["train_fraction"]
        if self.label_noise == 0.0:
            del d["label_noise"]
        if self.time_budget_s is None:
            del d["time_budget_s"]
        if self.tile is None:
            del d["tile"]
        return d

    @property
    def fold_pair(self) -> tuple[int, int] | None:
        """``(k, K)`` with 0-based ``k`` for :func:`medlearn.train.data.split_items`, or None."""
        return parse_fold(self.fold) if self.fold else None


def check_init(init: str | None, arch: str = "") -> str:
    """Normalise a starting-weights choice: None/"scratch", "imagenet", "phantoms",
    "medlearn:<path or run id>"."""
    init = "scratch" if init in (None, "", "scratch") else str(init).strip()
    if init in ("scratch", "imagenet", "phantoms"):
        if init != "scratch" and arch == "classic":
            raise MedlearnInputError("The classical baseline fits hand-crafted features in one step; it has no "
                                     "pre-trained weights to start from.")
        return init
    if init.startswith("medlearn:") and init[len("medlearn:"):].strip():
        if arch == "classic":
            raise MedlearnInputError("The classical baseline cannot start from a network's weights.")
        return "medlearn:" + init[len("medlearn:"):].strip()
    raise MedlearnInputError(f"Unknown starting weights {init!r}: use 'scratch', 'imagenet', 'phantoms', or "
                             "'medlearn:<checkpoint path or run id>' (a MedLearn checkpoint of the same network).")


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
              batch_size=None, width=None, learning_rate=None, enhance=None, enhance_params=None,
              init=None, augment=True, crop=None, balanced=None, fold=None, train_fraction=None, label_noise=None,
              time_budget_s=None, tile=None, full=False) -> RunPlan:
    """Fill unset choices from the case's recipe for ``source`` and check them (a 2D model
    of a 3D case takes the recipe's ``batch_size_2d``, as it trains on slices). ``init`` is
    checked for its form only; :func:`medlearn.train.init.resolve_init` finds the checkpoint."""
    r = case.recipe_for(source, full=full)
    enhance, enhance_params = check_enhance(enhance, enhance_params)
    dims = model_dims_of(arch, case)
    default_batch = r.batch_size_2d if (dims == 2 and case.task.spatial_dims == 3 and r.batch_size_2d) else r.batch_size
    plan = RunPlan(case=case.key, arch=arch, source=source, model_dims=dims,
                   epochs=int(epochs or r.epochs_for(arch)), batch_size=int(batch_size or default_batch),
                   learning_rate=float(learning_rate or r.learning_rate), width=int(width or r.width),
                   input_size=int(input_size or r.input_size), n_train=int(n_train or r.train_cases),
                   n_val=int(n_val if n_val is not None else r.val_cases), seed=int(seed),
                   enhance=enhance, enhance_params=enhance_params, init=check_init(init, arch),
                   augment=augment_choice(augment, r.augment), crop=float(crop) if crop else r.crop,
                   balanced=bool(r.balanced if balanced is None else balanced) and case.task.kind == "classification",
                   fold=None if fold is None else fold_text(parse_fold(fold)),
                   train_fraction=check_train_fraction(train_fraction),
                   label_noise=check_label_noise(label_noise, case.task.kind),
                   time_budget_s=None if time_budget_s is None else float(time_budget_s),
                   tile=_tile(tile if tile is not None else r.tile, case, dims))
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
    if plan.time_budget_s is not None and not plan.time_budget_s > 0:
        raise MedlearnInputError(f"A time budget must be a positive number of seconds, not {plan.time_budget_s:g}.")
    if plan.init == "phantoms" and source == "phantoms":
        raise MedlearnInputError("Pre-training on phantoms is for fine-tuning on real data; pick a real source.")
    return plan


def _tile(tile, case, dims: int) -> int | None:
    """The plan's tile side: for 2D segmentation only (None elsewhere, or for 0)."""
    if not tile or not case.task.is_segmentation or dims != 2:
        return None
    if isinstance(tile, bool) or int(tile) != tile or not 8 <= int(tile) <= 1024:
        raise MedlearnInputError(f"A tile must be a whole number of pixels from 8 to 1024, not {tile!r}.")
    return int(tile)


AUGMENTATIONS = ("flips", "strong")


def _share(value, name: str, default: float, zero_ok: bool, one_ok: bool, example: str) -> float:
    """A share in words-checked bounds: None -> ``default``; else a number in ``(0, 1]`` or
    ``[0, 1)`` as ``zero_ok``/``one_ok`` say (the one rule of both share options)."""
    if value is None:
        return default
    bounds = f"{'[' if zero_ok else '('}0, 1{']' if one_ok else ')'}"
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise MedlearnInputError(f"{name} must be a number in {bounds}, not {value!r}.") from None
    if not ((0.0 <= share if zero_ok else 0.0 < share) and (share <= 1.0 if one_ok else share < 1.0)):
        raise MedlearnInputError(f"{name} must lie in {bounds} (e.g. {example}), not {share:g}.")
    return share


def check_train_fraction(fraction) -> float:
    """The share of the training split a run uses: None -> 1.0; else ``0 < f <= 1``."""
    return _share(fraction, "The training fraction", 1.0, zero_ok=False, one_ok=True, example="0.1 for 10 %")


def check_label_noise(noise, kind: str = "classification") -> float:
    """The share of training labels flipped: None -> 0.0; else ``0 <= p < 1``, classifiers only."""
    value = _share(noise, "Label noise", 0.0, zero_ok=True, one_ok=False, example="0.3 for 30 % flipped labels")
    if value and kind != "classification":
        raise MedlearnInputError("Label noise flips class labels; it does not apply to segmentation, whose labels "
                                 "are masks (train on a smaller fraction of the data instead).")
    return value


def share_words(plan: RunPlan) -> str:
    """What share of the training split a plan used and how many of its labels were flipped,
    in words (empty at the defaults): for the model card and the run's description."""
    parts = []
    if plan.train_fraction < 1.0:
        parts.append(f"{plan.train_fraction:.0%} of the training patients/items (drawn with seed {plan.seed})")
    if plan.label_noise:
        parts.append(f"{plan.label_noise:.0%} of the training labels deliberately flipped to another class")
    return "; ".join(parts)


def fold_text(fold: tuple[int, int]) -> str:
    """``(k, K)`` 0-based -> ``"k/K"`` 1-based, as a plan names its fold."""
    return f"{fold[0] + 1}/{fold[1]}"


def parse_fold(fold) -> tuple[int, int]:
    """``"k/K"`` (1-based, as people count folds) or ``(k, K)`` (0-based) -> ``(k, K)`` 0-based."""
    if isinstance(fold, tuple):
        k, n = fold
    else:
        try:
            k, n = (int(part) for part in str(fold).split("/"))
            k -= 1
        except ValueError:
            raise MedlearnInputError(f"A fold is written k/K (e.g. 2/5), not {fold!r}.") from None
    if not (n >= 2 and 0 <= k < n):
        raise MedlearnInputError(f"Fold {k + 1} of {n} does not exist; folds run from 1 to K, K at least 2.")
    return int(k), int(n)


def augment_choice(augment, recipe_default: str = "flips") -> bool | str:
    """A plan's augmentation: ``False`` (none), ``True`` (flips, the plain default) or
    ``"strong"``; ``True`` asks for the recipe's default."""
    if augment is False or augment in ("none", "off"):
        return False
    level = recipe_default if augment is True or augment is None else str(augment)
    if level not in AUGMENTATIONS:
        raise MedlearnInputError(f"Unknown augmentation {augment!r}; use one of {', '.join(AUGMENTATIONS)} or none.")
    return True if level == "flips" else level


def resolve_init(init: str | None, store=None) -> str:
    """``check_init`` plus, for ``"medlearn:<run id>"``, the run's checkpoint from ``store``,
    and for a path, its absolute form (the plan, hence the checkpoint name, names the file)."""
    from pathlib import Path

    init = check_init(init)
    if not init.startswith("medlearn:"):
        return init
    ref = init[len("medlearn:"):]
    if ref.isdigit():
        from medlearn.errors import UnknownNameError
        from medlearn.train.store import RunStore

        try:
            run = (store or RunStore()).get_run(int(ref))
        except UnknownNameError:
            raise MedlearnInputError(f"There is no run {ref} to start from; see `python -m medlearn runs`.") from None
        if run.status != "done" or not run.checkpoint:
            raise MedlearnInputError(f"Run {ref} ({run.arch} on {run.case}) has no finished checkpoint to start from.")
        ref = run.checkpoint
    path = Path(ref).expanduser().resolve()
    if not path.is_file() or path.suffix != ".safetensors":
        raise MedlearnInputError(f"No MedLearn network checkpoint at {ref}: give a .safetensors file saved by "
                                 "MedLearn training, or a finished run's id.")
    return f"medlearn:{path}"
