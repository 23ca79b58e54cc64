"""The overfitting dials of a run plan: share of training data and label noise."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from medlearn.cases import get_case
from medlearn.errors import MedlearnInputError
from medlearn.train.data import flip_labels, keep_fraction, training_share
from medlearn.train.plan import make_plan, share_words


def _items(patients: int = 20, per_patient=(1, 2, 3), classes: int = 2):
    """Samples of ``patients`` patients with 1-3 images each, labels cycling over ``classes``."""
    from medlearn.data.image import MedImage
    from medlearn.data.sources.base import Sample

    image = MedImage(np.zeros((8, 8), np.float32), spacing=(1.0, 1.0), modality="US")
    items = []
    for p in range(patients):
        for k in range(per_patient[p % len(per_patient)]):
            items.append(Sample(f"p{p}-{k}", image, len(items) % classes, None, {"patient": f"P{p}"}))
    return items


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, "half", float("nan")])
def test_a_bad_fraction_is_a_typed_error(fraction):
    with pytest.raises(MedlearnInputError, match="fraction"):
        make_plan(get_case("breast"), "resnet18", "phantoms", train_fraction=fraction)


@pytest.mark.parametrize("noise", [1.0, -0.2, 2, "lots"])
def test_bad_label_noise_is_a_typed_error(noise):
    with pytest.raises(MedlearnInputError, match="[Ll]abel noise"):
        make_plan(get_case("breast"), "resnet18", "phantoms", label_noise=noise)


def test_label_noise_does_not_apply_to_segmentation_but_a_share_does():
    heart = get_case("heart")
    with pytest.raises(MedlearnInputError, match="does not apply to segmentation"):
        make_plan(heart, "unet", "phantoms", label_noise=0.3)
    assert make_plan(heart, "unet", "phantoms", train_fraction=0.5).train_fraction == 0.5


def test_default_plans_are_unchanged_and_the_dials_are_recorded():
    case = get_case("breast")
    plain = make_plan(case, "resnet18", "phantoms")
    explicit = make_plan(case, "resnet18", "phantoms", train_fraction=1.0, label_noise=0.0)
    assert plain == explicit and plain.to_dict() == explicit.to_dict()
    assert "train_fraction" not in plain.to_dict() and "label_noise" not in plain.to_dict()  # same checkpoint names
    assert share_words(plain) == ""
    noisy = make_plan(case, "resnet18", "phantoms", train_fraction=0.1, label_noise=0.3)
    assert noisy.to_dict()["train_fraction"] == 0.1 and noisy.to_dict()["label_noise"] == 0.3
    assert share_words(noisy) == ("10% of the training patients/items (drawn with seed 0); "
                                  "30% of the training labels deliberately flipped to another class")


def test_the_fraction_keeps_whole_patients_and_is_nested_and_seeded():
    items = _items()
    half = keep_fraction(items, 0.5, seed=3)
    per_patient = Counter(it.meta["patient"] for it in items)
    kept = Counter(it.meta["patient"] for it in half)
    assert all(kept[p] == per_patient[p] for p in kept)  # a patient is kept whole or not at all
    assert round(0.5 * len(items)) <= len(half) < round(0.5 * len(items)) + 3  # stops at the first patient past it
    assert [it.id for it in keep_fraction(items, 0.5, seed=3)] == [it.id for it in half]
    assert {it.id for it in keep_fraction(items, 0.2, seed=3)} <= {it.id for it in half}  # 20 % inside 50 %
    assert {it.id for it in keep_fraction(items, 0.5, seed=4)} != {it.id for it in half}
    assert keep_fraction(items, 1.0) == items


def test_too_small_a_share_is_refused():
    with pytest.raises(MedlearnInputError, match="at least 2"):
        keep_fraction(_items(patients=5, per_patient=(1,)), 0.1)


@pytest.mark.parametrize("classes", [2, 5])
def test_noise_flips_the_right_share_deterministically(classes):
    items = _items(patients=50, per_patient=(2,), classes=classes)  # 100 images
    noisy = flip_labels(items, 0.3, classes, seed=1)
    changed = [(a, b) for a, b in zip(items, noisy) if a.label != b.label]
    assert len(changed) == 30
    assert all(0 <= b.label < classes and b.meta["true_label"] == a.label for a, b in changed)
    assert [b.label for b in flip_labels(items, 0.3, classes, seed=1)] == [b.label for b in noisy]
    assert [b.label for b in flip_labels(items, 0.3, classes, seed=2)] != [b.label for b in noisy]
    assert all(it.label == i % classes and "true_label" not in it.meta for i, it in enumerate(items))  # untouched
    assert flip_labels(items, 0.0, classes) == items
    if classes > 2:  # a flip goes to any other class, not always the next one
        assert len({(b.label - a.label) % classes for a, b in changed}) > 1


def test_training_share_takes_the_share_then_flips_within_it():
    items = _items(patients=40, per_patient=(1,))
    used = training_share(items, 0.5, 0.25, 2, seed=0)
    assert len(used) == 20 and sum(it.meta.get("true_label") is not None for it in used) == 5
    assert training_share(items) == items


def test_a_run_trains_on_its_share_with_its_noise():
    from medlearn.train.recipes import split_data

    case = get_case("breast")
    full, val = split_data(make_plan(case, "resnet18", "phantoms", n_train=40, n_val=10))
    part, val2 = split_data(make_plan(case, "resnet18", "phantoms", n_train=40, n_val=10, train_fraction=0.5,
                                      label_noise=0.5))
    assert len(part) == 20 and len(val2) == len(val)
    assert [it.label for it in val2] == [it.label for it in val]  # validation keeps its true labels
