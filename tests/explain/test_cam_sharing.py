"""CAM on a shared (cached) model: no hooks left, flat memory, no mixing across threads."""

import gc
import threading
import tracemalloc

import numpy as np
import torch
from cam_helpers import all_hooks, blob_image

from medlearn.explain import compute_cam


def test_hooks_and_gradients_released_even_on_error(classifier):
    x, _ = blob_image()
    compute_cam(classifier, x)
    assert not all_hooks(classifier)
    assert all(p.grad is None for p in classifier.parameters())
    try:
        compute_cam(classifier, x, class_index=7)  # out-of-range class: the CAM fails
    except Exception:
        pass
    assert not all_hooks(classifier)


def _live_tensors():
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) in (torch.Tensor, torch.nn.Parameter))


def test_memory_flat_over_100_calls(classifier):
    x, _ = blob_image()
    for _ in range(5):
        compute_cam(classifier, x)
    tensors_before = _live_tensors()
    tracemalloc.start()
    gc.collect()
    before, _ = tracemalloc.get_traced_memory()
    for _ in range(100):
        compute_cam(classifier, x)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - before < 200_000, f"CAM grew Python/numpy memory by {after - before} bytes over 100 calls"
    assert _live_tensors() <= tensors_before
    assert not all_hooks(classifier)


def test_two_threads_on_one_model_get_their_own_maps(segmenter):
    images = [blob_image(centre=(8, 8), seed=1)[0], blob_image(centre=(22, 24), seed=2)[0]]
    reference = [compute_cam(segmenter, x, task="segmentation").maps for x in images]
    assert not np.allclose(reference[0], reference[1])
    results: dict[int, list] = {0: [], 1: []}
    barrier = threading.Barrier(2)

    def work(i):
        barrier.wait()
        for _ in range(15):
            results[i].append(compute_cam(segmenter, images[i], task="segmentation").maps)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in (0, 1):
        assert len(results[i]) == 15
        for maps in results[i]:
            np.testing.assert_allclose(maps, reference[i], atol=1e-5)
    assert not all_hooks(segmenter)
