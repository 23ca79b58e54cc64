"""The Predict section shows Mask R-CNN's instances (boxes, masks, scores) on a slice, and
nothing of the kind for a network that only labels pixels."""

from __future__ import annotations

import re

import numpy as np

from medlearn.models.instances import Instances
from ui.predict.instances import instance_figure, instance_labels, instance_table

from model_fixtures import make_checkpoint

HEADING = "The objects it found"


def _predict(open_page, arch: str):
    make_checkpoint("hippocampus", arch)
    at = open_page("hippocampus")
    at.segmented_control(key="hippocampus.section").set_value("Predict").run()
    return at


def test_mask_rcnn_answers_with_its_instances_on_a_slice(open_page, assert_clean):
    at = _predict(open_page, "maskrcnn")
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert any(HEADING in m.value for m in at.markdown)
    assert at.slider(key="predict.hippocampus.instances.threshold").value == 0.5
    at.slider(key="predict.hippocampus.instances.threshold").set_value(0.05).run()  # every kept object
    assert_clean(at)
    assert any(re.search(r"(\d+ objects?|no objects) at a score of 0\.05 or more", c.value) for c in at.caption)


def test_a_pixel_segmenter_shows_no_instance_view(open_page, assert_clean):
    at = _predict(open_page, "fcn")
    assert_clean(at)
    assert not any(HEADING in m.value for m in at.markdown)


def test_instances_are_drawn_in_their_class_colours_best_on_top():
    masks = np.zeros((2, 10, 12), np.float32)
    masks[0, 2:6, 2:6] = 0.9
    masks[1, 4:8, 4:8] = 0.8
    found = Instances(np.array([[2, 2, 6, 6], [4, 4, 8, 8]], np.float32), np.array([1, 2]),
                      np.array([0.9, 0.6], np.float32), masks, (10, 12))
    labels = instance_labels(found)
    assert labels[3, 3] == 1 and labels[7, 7] == 2 and labels[5, 5] == 1  # the overlap: the higher score
    fig = instance_figure(np.zeros((10, 12), np.float32), found, ("background", "head", "tail"), (1.0, 1.0))
    assert len(fig.layout.shapes) == 2 and [a.text for a in fig.layout.annotations] == ["#1 head 0.90",
                                                                                        "#2 tail 0.60"]
    flipped = instance_figure(np.zeros((10, 12), np.float32), found, ("background", "head", "tail"), (1.0, 1.0),
                              flip=True)
    assert flipped.layout.shapes[0].y0 != fig.layout.shapes[0].y0  # drawn anterior up, like the volume's slices
    table = instance_table(found, ("background", "head", "tail"), (2.0, 1.0))
    assert table["class"].tolist() == ["head", "tail"] and table["mask mm²"].tolist() == ["32", "32"]


def _row(arch: str, value: float, low: float, high: float, dims: int = 2) -> dict:
    return {"arch": arch, "source": "msd_hippocampus", "plan": {"model_dims": dims, "input_size": 48, "epochs": 40},
            "figures": {"dice": {"label": "Dice", "value": value, "ci_low": low, "ci_high": high, "n": 9}}}


def test_the_page_says_plainly_where_our_ranking_differs_from_the_reviews():
    from ui.explore.extras.hippocampus_race import differences, ranked, ranking_table

    rows = [_row("fcn", 0.837, 0.83, 0.85), _row("unet", 0.840, 0.83, 0.85), _row("unet3d", 0.823, 0.81, 0.829, 3),
            _row("maskrcnn", 0.70, 0.66, 0.74), {"arch": "segnet", "figures": {}}]
    ranking = ranked(rows)
    assert [r["arch"] for r in ranking] == ["unet", "fcn", "unet3d", "maskrcnn"]  # unscored rows left out
    said = differences(ranking)
    assert said[0].startswith("**Differs from the review:**") and "ranks 4 of 4" in said[0]
    assert "do not overlap" in said[0]
    assert "2D U-Net (Dice 0.840" in said[1] and "beats 3D U-Net" in said[1]
    table = ranking_table(ranking)
    assert table["place"].tolist() == [1, 2, 3, 4] and table["sees"].tolist() == ["slices", "slices", "volumes",
                                                                                   "slices"]
    agree = differences(ranked([_row("maskrcnn", 0.9, 0.88, 0.92), _row("unet3d", 0.85, 0.84, 0.86, 3),
                                _row("unet", 0.70, 0.68, 0.72)]))
    assert agree[0].startswith("Same as the review: Mask R-CNN ranks first") and agree[1].startswith("Same as")
    tied = differences(ranked([_row("unet", 0.84, 0.82, 0.86), _row("maskrcnn", 0.83, 0.81, 0.85),
                               _row("unet3d", 0.835, 0.82, 0.85, 3)]))
    assert "cannot tell the two apart" in tied[0] and "not told apart (2D U-Net even scores higher)" in tied[1]
