"""Request batching for a server: concurrent predictions share one forward and one CAM.

A classroom asks the same model about twenty images at once. Run one by one, each
request waits for the others' forward + backward passes (a CAM hooks the shared model,
so they take turns under :func:`~medlearn.explain.model_lock`). :class:`BatchingPredictor`
instead gathers requests for the same model, method and input shape for a few
milliseconds (longer while that model is busy: whoever arrives meanwhile joins the next
batch), stacks their prepared tensors and runs ONE forward and ONE CAM over the batch
(``pytorch_grad_cam`` explains each item's own top class). Each caller gets an ordinary
:class:`~medlearn.predict.Prediction` with its own latency (the wait included).

Written here rather than taken from a serving library (TorchServe, Triton, Ray Serve):
those run as separate servers, while Streamlit sessions are threads of one process.
Only 2D images and 2D models with layout ``"same"`` are batched; everything else
(volumes, slice-by-slice segmentation, Score-CAM, a bad input) goes to the plain
:class:`~medlearn.predict.Predictor`, which also raises its typed errors.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from medlearn.cases import CaseStudy, get_case
from medlearn.data.image import MedImage
from medlearn.explain import get_method
from medlearn.ood import row
from medlearn.predict import LoadedModel, Prediction, Predictor, answer, check_model, default_predictor, forward, prepare


@dataclass(eq=False)
class _Request:
    """One caller's prepared input and, once its batch ran, its slice of the outputs."""

    case: CaseStudy
    loaded: LoadedModel
    method: str | None
    class_index: int | None
    image: MedImage
    prep: object  # medlearn.predict.Prepared
    start: float
    prepared_at: float
    loaded_at: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    outputs: dict | None = None
    error: BaseException | None = None


class BatchingPredictor:
    """A thread-safe :class:`~medlearn.predict.Predictor` front that batches concurrent requests.

    Args:
        predictor: the predictor whose model cache and fallback are used (default: the
            process-wide :func:`~medlearn.predict.default_predictor`).
        max_wait_ms: how long the first request of a batch waits for others to join.
        max_batch: the largest batch; a full batch runs at once.
    """

    def __init__(self, predictor: Predictor | None = None, max_wait_ms: float = 10.0, max_batch: int = 32):
        self.predictor = predictor or default_predictor()
        self.max_wait_s = max(0.0, float(max_wait_ms)) / 1000
        self.max_batch = max(1, int(max_batch))
        self._cond = threading.Condition()
        self._queues: dict[tuple, list[_Request]] = {}
        self._busy: Counter = Counter()
        self.batch_sizes: Counter = Counter()  # batch size -> how many batches ran (for tests and benches)

    def __getattr__(self, name: str):
        """The plain predictor's helpers (``load``, ``find_checkpoint``, ``device``...): a stand-in."""
        if name == "predictor":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.predictor, name)

    def predict(self, case: str, image: MedImage, arch: str | None = None, explain: str | None = "gradcam",
                checkpoint: str | Path | None = None, class_index: int | None = None) -> Prediction:
        """Same arguments, answer and errors as :meth:`Predictor.predict`; batched when possible."""
        start = time.perf_counter()
        study = get_case(case)
        method = None if explain in (None, "", "none") else get_method(explain)
        path = checkpoint if checkpoint is not None else self.predictor.find_checkpoint(study, arch)
        loaded = self.predictor.load(path)
        loaded_at = time.perf_counter()
        batchable = self._batchable(study, loaded, image, method)
        if batchable:
            check_model(loaded, study)
        prep = prepare(image, loaded.card, loaded.device, study.title) if batchable else None
        if prep is None or prep.layout != "same" or prep.x.shape[0] != 1:
            return self.predictor.predict(case, image, arch=arch, explain=explain, checkpoint=path,
                                          class_index=class_index)
        request = _Request(study, loaded, method and method.name, class_index, image, prep, start,
                           time.perf_counter(), loaded_at)
        self._submit((id(loaded.model), request.method, class_index, tuple(prep.x.shape[1:])), request)
        if request.error is not None:
            raise request.error
        return self._answer(request)

    @staticmethod
    def _batchable(case: CaseStudy, loaded: LoadedModel, image, method) -> bool:
        """2D image, 2D network of this case, a fast method: what the batch path serves."""
        return (isinstance(image, MedImage) and image.spatial_dims == 2 and loaded.is_network
                and loaded.card.preprocessing.spatial_dims == 2 and loaded.card.case == case.key
                and (method is None or (not method.slow and 2 in method.spatial_dims)))

    def _submit(self, key: tuple, request: _Request) -> None:
        """Queue ``request``; the first of a batch waits for company, runs the batch, wakes the rest."""
        with self._cond:
            queue = self._queues.setdefault(key, [])
            queue.append(request)
            if len(queue) >= self.max_batch:
                self._queues.pop(key, None)  # full: the next arrival starts a new batch
            self._cond.notify_all()
        if queue[0] is not request:  # someone else leads this batch
            request.done.wait()
            return
        deadline = time.perf_counter() + self.max_wait_s
        with self._cond:
            while len(queue) < self.max_batch:
                now = time.perf_counter()
                if now >= deadline and not self._busy[key]:
                    break
                self._cond.wait(timeout=deadline - now if now < deadline else 0.05)
            if self._queues.get(key) is queue:
                del self._queues[key]
            self._busy[key] += 1
        try:
            self._run(queue)
        finally:
            with self._cond:
                self._busy[key] -= 1
                if not self._busy[key]:
                    del self._busy[key]
                self._cond.notify_all()

    def _run(self, batch: list[_Request]) -> None:
        """One forward (and one CAM) for the whole batch; each request gets its own slice."""
        first = batch[0]
        task = first.case.task.kind
        try:
            x = torch.cat([r.prep.x for r in batch])
            began = time.perf_counter()
            out = forward(first.loaded, x, task, first.method, first.class_index)
            model_ms = (time.perf_counter() - began) * 1000
            with self._cond:
                self.batch_sizes[len(batch)] += 1
            for i, r in enumerate(batch):
                r.outputs = {"logits": out.logits[i : i + 1], "map": None if out.maps is None else out.maps[i : i + 1],
                             "target": None if out.targets is None else out.targets[i], "forward_ms": out.forward_ms,
                             "model_ms": model_ms, "began": began, "batch": len(batch),
                             "features": row(out.features, i)}
        except BaseException as exc:  # every caller hears about it; none waits forever
            for r in batch:
                r.error = exc
        finally:
            for r in batch:
                r.done.set()

    @staticmethod
    def _answer(r: _Request) -> Prediction:
        """The caller's Prediction from its slice, post-processed by :func:`medlearn.predict.answer`."""
        t0 = time.perf_counter()
        out = r.outputs
        notes = [f"Answered in one batch with {out['batch'] - 1} other request(s) to the same model."] \
            if out["batch"] > 1 else []
        pred = answer(r.case, r.loaded, r.prep, r.image, out["logits"], out["map"], r.method, out["target"], notes,
                      features=out["features"])
        end = time.perf_counter()
        pred.timings = {"load": (r.loaded_at - r.start) * 1000, "preprocess": (r.prepared_at - r.loaded_at) * 1000,
                        "queue": (out["began"] - r.prepared_at) * 1000, "forward": out["forward_ms"],
                        "explain": out["model_ms"] - out["forward_ms"] if r.method else 0.0,
                        "postprocess": (end - t0) * 1000}
        pred.latency_ms = (end - r.start) * 1000
        return pred
