"""The case-study record and its registry.

Each case module builds one :class:`CaseStudy` and registers it with
:func:`register_case`. Pages and the command line read the registry; nothing in
MedLearn branches on a case's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from medlearn.errors import UnknownNameError
from medlearn.preprocess import Intensity


@dataclass(frozen=True)
class Task:
    """What a model must do for a case.

    Attributes:
        kind: ``"classification"``, ``"segmentation"`` or ``"detection"`` (boxes with
            scores; the truth is a label map whose connected regions are the objects, their
            bounding boxes the true boxes, so its data flow as segmentation data do).
        spatial_dims: 2 for pictures/slices, 3 for volumes.
        class_names: one name per output class (segmentation and detection: label values
            in order, background first).
        in_channels: 3 for colour photographs/slides, 1 for grey modalities.
        ordinal: classes are ordered grades (quadratic-weighted kappa applies).
        model_dims: dimensionalities models may work in; a 3D case with 2 here
            lets 2D models see axial slices (central slice for classification).
    """

    kind: str
    spatial_dims: int
    class_names: tuple[str, ...]
    in_channels: int = 1
    ordinal: bool = False
    model_dims: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.model_dims:  # frozen dataclass: set through object.__setattr__
            object.__setattr__(self, "model_dims", (self.spatial_dims,))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_segmentation(self) -> bool:
        """The truth is a label map (segmentation, and detection: its regions are the objects)."""
        return self.kind in ("segmentation", "detection")

    @property
    def is_detection(self) -> bool:
        return self.kind == "detection"


@dataclass(frozen=True)
class PublishedResult:
    """A figure from the literature, shown beside MedLearn's own results."""

    model: str
    metric: str
    value: float
    dataset: str
    source: str


@dataclass(frozen=True)
class Recipe:
    """The default training recipe: sized to train each model on a 2-core CPU in at most
    3 minutes (see ``scripts/time_recipes.py`` and docs/RESULTS.md).

    ``batch_size_2d`` (when set) replaces ``batch_size`` for 2D models of a 3D case, which
    train on many slices per volume. ``crop`` (when set) is the central fraction of the field
    of view the models see (a region of interest, recorded in the model card).
    ``augment``: ``"flips"`` (random flips, and turns where orientation carries no meaning)
    or ``"strong"`` (those plus small rotations, zooms and intensity changes, for small real
    sets). ``balanced``: a classifier draws its training batches class-balanced (each class
    equally often), so a minority class is not learnt as "never". ``tile`` (when set): a
    segmenter of large photographs trains on random ``tile`` x ``tile`` crops of each image
    at ``input_size`` (its full working resolution) and predicts it whole at that resolution
    (:mod:`medlearn.tiling`); retinal vessels a few pixels wide would vanish if
    the photograph were shrunk to fit a network.
    """

    architectures: tuple[str, ...]
    input_size: int
    epochs: int = 5
    batch_size: int = 16
    learning_rate: float = 1e-3
    train_cases: int = 240
    val_cases: int = 60
    width: int = 16
    batch_size_2d: int | None = None
    crop: float | None = None
    augment: str = "flips"
    balanced: bool = False
    tile: int | None = None
    epochs_by_arch: tuple[tuple[str, int], ...] = ()  # (architecture, epochs) where one must train
    # fewer epochs than the rest to stay within the time budget (the GPU recipe drops them)

    def epochs_for(self, arch: str) -> int:
        """The epochs ``arch`` trains by this recipe."""
        return int(dict(self.epochs_by_arch).get(arch, self.epochs))

    @property
    def full(self) -> "Recipe":
        """The larger recipe for a GPU (``train --full``): five times the epochs (at least 50),
        twice the width (at least 32) and every training item the data has; the CPU default is
        sized for a 2-core laptop and a 5-minute wait."""
        return replace(self, epochs=max(50, 5 * self.epochs), width=max(32, 2 * self.width),
                       train_cases=max(self.train_cases, 100_000), epochs_by_arch=())

    @property
    def first_network(self) -> str:
        """The first default architecture that is a network (Predict serves networks; the
        classical baseline is scored in races only)."""
        return next((a for a in self.architectures if a != "classic"), self.architectures[0])


@dataclass(frozen=True)
class CaseStudy:
    """Everything MedLearn knows about one case study.

    Attributes:
        key: URL-safe identifier (``"retina"``, ``"breast"``...).
        title: human title for pages and cards.
        icon: an emoji for navigation.
        modality: DICOM-style modality code of the images.
        question: the clinical question in one sentence.
        summary: what the published work found (teaching text, our own words).
        task: what the models do.
        sources: names of dataset sources (see ``medlearn.data.sources``).
        recipe: default architectures and training sizes.
        metrics: metric names reported for this case (``medlearn.metrics``).
        measurements: clinical measurements derived from predictions.
        published: literature figures to compare against.
        citations: references shown on the page.
        window_presets: named (center, width) display windows in modality units.
        intensity: how this case's pixel values become model input (one rule per case,
            copied into every model card it trains; see :mod:`medlearn.preprocess`).
        real_recipes: the recipe's changes for a real dataset source (by source name): real
            sets are small and unlike phantoms (see :meth:`recipe_for`).
        parent: the key of the case whose page shows this one as a further study (retinal
            vessels on the diabetic retinopathy page), or "" for a case with a page of its own.
        study: the short name of this study in its page's study picker ("Grading",
            "Vessels"); "" for a case with no further studies.
    """

    key: str
    title: str
    icon: str
    modality: str
    question: str
    summary: str
    task: Task
    sources: tuple[str, ...]
    recipe: Recipe
    metrics: tuple[str, ...]
    measurements: tuple[str, ...] = ()
    published: tuple[PublishedResult, ...] = ()
    citations: tuple[str, ...] = ()
    window_presets: tuple[tuple[str, float, float], ...] = ()
    teaching_points: tuple[str, ...] = field(default=())
    intensity: Intensity = field(default_factory=Intensity)
    real_recipes: tuple[tuple[str, dict], ...] = ()
    parent: str = ""
    study: str = ""

    @property
    def page_key(self) -> str:
        """The key of the page this study is shown on (its own, or its parent's)."""
        return self.parent or self.key

    def recipe_for(self, source: str, full: bool = False) -> Recipe:
        """The default recipe for training on ``source``: the case's recipe with that real
        source's changes (``real_recipes``), or unchanged (phantoms, other sources);
        ``full``: its larger GPU version (:attr:`Recipe.full`)."""
        changes = dict(self.real_recipes).get(source)
        recipe = replace(self.recipe, **changes) if changes else self.recipe
        return recipe.full if full else recipe


_REGISTRY: dict[str, CaseStudy] = {}


def register_case(case: CaseStudy) -> CaseStudy:
    """Add a case to the registry; duplicate keys are refused, and a further study must name
    a registered page case and a study label."""
    if case.key in _REGISTRY:
        raise ValueError(f"case {case.key!r} is registered twice")
    if case.parent and (case.parent not in _REGISTRY or _REGISTRY[case.parent].parent or not case.study):
        raise ValueError(f"case {case.key!r}: parent {case.parent!r} must be a registered page case, and study set")
    _REGISTRY[case.key] = case
    return case


def get_case(key: str) -> CaseStudy:
    """The case with this key, or :class:`UnknownNameError` listing the known keys."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise UnknownNameError(f"Unknown case {key!r}; known cases: {', '.join(_REGISTRY)}.") from None


def list_cases(studies: bool = False) -> list[CaseStudy]:
    """The cases with a page of their own, in teaching order; ``studies``: every trainable
    case, the further studies shown on those pages included (each after its page's case)."""
    pages = [c for c in _REGISTRY.values() if not c.parent]
    if not studies:
        return pages
    return [s for page in pages for s in studies_of(page.key)]


def studies_of(key: str) -> list[CaseStudy]:
    """The studies one page shows: its own case first, then its further studies in
    registration order."""
    page = get_case(key)
    return [page, *(c for c in _REGISTRY.values() if c.parent == page.key)]
