import numpy as np
import pytest
import torch
from cam_helpers import BrightnessClassifier, TinySegmenter, all_hooks, blob_image

from medlearn.errors import MedlearnInputError, UnknownNameError
from medlearn.explain import compute_cam, get_method, list_methods, localisation_score


def test_registry_flags_score_cam_slow_and_2d_only():
    names = [m.name for m in list_methods()]
    assert names == ["gradcam", "gradcam++", "eigencam", "scorecam"]
    assert get_method("scorecam").slow and not get_method("gradcam").slow
    assert "scorecam" not in [m.name for m in list_methods(spatial_dims=3)]
    with pytest.raises(UnknownNameError):
        get_method("lime")


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "eigencam", "scorecam"])
def test_each_method_on_a_2d_classifier_points_at_the_blob(classifier, method):
    x, lesion = blob_image()
    res = compute_cam(classifier, x, method=method)
    assert res.maps.shape == (1, 32, 32) and res.maps.dtype == np.float32
    assert 0.0 <= res.maps.min() and res.maps.max() <= 1.0 and res.maps.max() > 0.5
    assert res.logits.shape == (1, 2) and res.target_classes == [1]
    assert torch.allclose(res.logits, classifier(x), atol=1e-5)  # same forward pass as prediction
    assert localisation_score(res.maps[0], lesion)["peak_in_lesion"]
    assert not all_hooks(classifier)


def test_explicit_class_index(classifier):
    x, _ = blob_image()
    assert compute_cam(classifier, x, class_index=0).target_classes == [0]


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "eigencam", "scorecam"])
def test_each_method_on_a_segmenter(segmenter, method):
    x, lesion = blob_image()
    res = compute_cam(segmenter, torch.cat([x, x]), method=method, task="segmentation")
    assert res.maps.shape == (2, 32, 32) and res.logits.shape == (2, 3, 32, 32)
    predicted = res.logits[0].argmax(0).numpy()
    assert res.target_classes[0] in (1, 2) and (predicted == res.target_classes[0]).any()
    assert np.isfinite(res.maps).all() and res.maps.max() <= 1.0
    assert not all_hooks(segmenter)


def test_segmentation_gradcam_highlights_the_segmented_region(segmenter):
    x, lesion = blob_image(radius=5)
    res = compute_cam(segmenter, x, task="segmentation", class_index=2)
    assert res.target_classes == [2]
    assert localisation_score(res.maps[0], lesion)["energy_in_lesion"] > lesion.mean()


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "eigencam"])
def test_3d_maps(method):
    x, lesion = blob_image(size=16, radius=3, dims=3)
    res = compute_cam(BrightnessClassifier(dims=3).eval(), x, method=method)
    assert res.maps.shape == (1, 16, 16, 16)
    assert localisation_score(res.maps[0], lesion)["pointing_game"]
    seg = TinySegmenter(dims=3).eval()
    res = compute_cam(seg, x, method=method, task="segmentation")
    assert res.maps.shape == (1, 16, 16, 16) and res.logits.shape == (1, 3, 16, 16, 16)


def test_score_cam_refuses_volumes():
    x, _ = blob_image(size=8, dims=3)
    with pytest.raises(MedlearnInputError, match="2D"):
        compute_cam(BrightnessClassifier(dims=3).eval(), x, method="scorecam")


def test_bad_inputs(classifier):
    with pytest.raises(MedlearnInputError):
        compute_cam(classifier, torch.zeros(1, 32, 32))
    with pytest.raises(MedlearnInputError):
        compute_cam(nn_without_conv(), torch.zeros(1, 1, 4, 4))


def nn_without_conv():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))


def test_works_when_called_under_inference_mode_and_frozen_weights(classifier):
    classifier.requires_grad_(False)
    x, lesion = blob_image()
    with torch.inference_mode():
        x = x.clone()
        res = compute_cam(classifier, x)
    assert localisation_score(res.maps[0], lesion)["peak_in_lesion"]
    assert all(p.grad is None for p in classifier.parameters())


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_frozen_weights_give_the_same_maps_with_a_shorter_backward(method):
    x, _ = blob_image()
    seg = TinySegmenter().eval()
    full = compute_cam(seg, x, method=method, task="segmentation").maps
    seg.requires_grad_(False)
    short = compute_cam(seg, x, method=method, task="segmentation").maps
    np.testing.assert_allclose(short, full, atol=1e-5)
    assert not all_hooks(seg)
