"""Training configuration: one dataclass with documented defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from medlearn.errors import MedlearnInputError

TASK_KINDS = ("classification", "segmentation", "detection")


@dataclass
class TrainConfig:
    """How to train one model.

    Attributes:
        task: ``"classification"`` (logits ``(B, K)``), ``"segmentation"`` (logits
            ``(B, K, *spatial)``) or ``"detection"`` (label-map targets like segmentation;
            validation scores FROC from the model's boxes, see ``train.recorder``).
        num_classes: K, background included for segmentation.
        epochs: passes over the training set.
        batch_size: images per optimiser step.
        learning_rate: Adam(W) step size.
        weight_decay: AdamW weight decay.
        seed: seeds torch, NumPy and ``random`` and the batch order.
        ordinal: classes are ordered grades (adds quadratic-weighted kappa).
        device: ``None`` picks CUDA, then MPS, then CPU (see ``device.pick_device``).
        amp: mixed precision (``torch.autocast`` + ``GradScaler``), CUDA only.
        channels_last: channels-last memory format, CUDA only.
        num_threads: torch CPU threads (``None`` leaves torch's setting alone).
        hd95: compute the (slower) Hausdorff distance each validation.
        spacing: voxel size in mm of the model's input, for HD95 in mm.
        class_names: names for per-class metrics (background first).
        balanced: classification only: draw training batches class-balanced (each class
            equally often, with replacement; an epoch keeps the training set's size).
    """

    task: str = "classification"
    num_classes: int = 2
    epochs: int = 5
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    ordinal: bool = False
    device: str | None = None
    amp: bool = True
    channels_last: bool = True
    num_threads: int | None = None
    hd95: bool = True
    spacing: tuple[float, ...] | None = None
    class_names: tuple[str, ...] = field(default=())
    balanced: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASK_KINDS:
            raise MedlearnInputError(f"Unknown task {self.task!r}; use one of {', '.join(TASK_KINDS)}.")
        for name, low in (("num_classes", 2), ("epochs", 1), ("batch_size", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                label = name.replace("_", " ").capitalize()
                raise MedlearnInputError(f"{label} must be a whole number >= {low}, got {value!r}.")
        if not self.learning_rate > 0:
            raise MedlearnInputError(f"The learning rate must be positive, got {self.learning_rate!r}.")
        if self.num_threads is not None and self.num_threads < 1:
            raise MedlearnInputError(f"Threads must be at least 1, got {self.num_threads!r}.")

    @property
    def is_segmentation(self) -> bool:
        """Targets are label maps: segmentation, and detection (boxes are their regions' boxes)."""
        return self.task in ("segmentation", "detection")

    @property
    def is_detection(self) -> bool:
        return self.task == "detection"

    def to_dict(self) -> dict:
        """JSON-ready copy (for the run store and checkpoint sidecars)."""
        d = asdict(self)
        d["spacing"] = list(self.spacing) if self.spacing else None
        d["class_names"] = list(self.class_names)
        return d
