"""The shortcut experiment: cue stamps, which images carry them, a tiny run end to end, the thread."""

from __future__ import annotations

import numpy as np
import pytest

from medlearn.data.phantoms import generate
from medlearn.errors import MedlearnInputError
from medlearn.trust.shortcut import (CUES, NOT_FOR_SEGMENTATION, SETS, ShortcutConfig, ShortcutRun, _cued, cue_stamp,
                                     run_shortcut, stamp)

TINY = dict(n_train=16, n_test=8, epochs=1, input_size=32, width=4)


@pytest.mark.parametrize("cue", list(CUES))
def test_each_cue_is_a_small_mark_near_the_edge(cue):
    ink = cue_stamp((64, 64), cue)
    assert ink.dtype == bool and 0.005 < ink.mean() < 0.1
    rows = np.flatnonzero(ink.any(1))
    assert rows[0] < 10 or rows[-1] > 53  # a corner or the bottom edge, away from the lesion in the middle


def test_stamp_burns_the_cue_in_at_the_brightest_value_on_every_slice():
    ct = generate("lung", n=1, seed=0)[0].image
    out, region = stamp(ct, "tag")
    assert region.shape == ct.spatial_shape and region.all(0).any()  # the same region on every slice
    assert out.pixels.dtype == ct.pixels.dtype and (out.pixels[region] == ct.pixels.max()).mean() > 0.5
    assert np.array_equal(out.pixels[~region], ct.pixels[~region])
    with pytest.raises(MedlearnInputError):
        cue_stamp((32, 32), "arrow")


def test_only_the_chosen_class_carries_the_cue_and_the_plain_set_has_none():
    items = generate("breast", n=10, seed=0, size=32)
    cued, regions = _cued(items, "text", lambda y: y == 1)
    for item, out, region in zip(items, cued, regions):
        if item.label == 1:
            assert region is not None and not np.array_equal(out.image.pixels, item.image.pixels)
        else:
            assert region is None and out is item
    assert {int(it.label) for it in items} == {0, 1}


def test_a_tiny_experiment_returns_every_figure_and_repeats_with_its_seed():
    config = ShortcutConfig("breast", cue="tag", seed=1, **TINY)
    stages = []
    result = run_shortcut(config, lambda fraction, stage: stages.append((fraction, stage)))
    assert set(result.accuracy) == set(SETS) == set(result.interval) == set(result.called_cue_class)
    assert all(0 <= v <= 1 for v in result.accuracy.values()) and result.n_test == 8
    assert result.cue_class_name == "malignant" and result.arch == "alexnet"
    assert 0 <= result.cue_energy <= 1 and 0 < result.cue_area < 0.2 and result.n_cam == 8  # cued in (a) or (c)
    assert [e.title.split(",")[0] for e in result.examples][:1] == ["malignant"] and len(result.examples) == 3
    assert all(e.overlay.shape == e.image.shape and e.image.dtype == np.uint8 for e in result.examples)
    assert stages[0][0] == 0.0 and stages[-1] == (1.0, "Done")
    assert [f for f, _ in stages] == sorted(f for f, _ in stages)
    again = run_shortcut(config)
    assert again.accuracy == result.accuracy and again.cue_energy == pytest.approx(result.cue_energy, abs=1e-6)


def test_segmentation_and_bad_choices_are_refused_in_words():
    with pytest.raises(MedlearnInputError, match="segmenter"):
        run_shortcut(ShortcutConfig("heart", **TINY))
    assert "segmenter" in NOT_FOR_SEGMENTATION
    with pytest.raises(MedlearnInputError, match="cue"):
        run_shortcut(ShortcutConfig("breast", cue_class=7, **TINY))


def test_the_background_run_reports_an_error_instead_of_raising():
    run = ShortcutRun(ShortcutConfig("heart", **TINY))
    assert run.wait(60) and run.result is None and "segmenter" in run.error
