"""Cached access to the expensive parts of MedLearn (samples, phantoms, models).

``st.cache_data`` holds small, copyable results (capped sample lists, phantoms,
thumbnails, summary tables); ``st.cache_resource`` holds models, shared read-only
between sessions (never mutated here: no hooks, no training on a cached model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from medlearn.data.phantoms import generate
from medlearn.data.sources import get_source
from ui.shared.render import thumbnail

# Samples are capped per load so a cache entry stays a few tens of MB at most.
MAX_SAMPLES = 96


@st.cache_data(max_entries=12, show_spinner="Loading samples…")
def load_samples(source: str, case: str, limit: int) -> list:
    """``get_source(source).load(case, limit=limit)``, cached per (source, case, limit)."""
    return get_source(source).load(case, limit=min(int(limit), MAX_SAMPLES))


@st.cache_data(max_entries=12, show_spinner=False)
def sample_thumbnails(source: str, case: str, limit: int, size: int = 150) -> list[np.ndarray]:
    """Small RGB previews (with ground-truth overlay) of :func:`load_samples`' samples."""
    return [thumbnail(s.image, s.mask, size) for s in load_samples(source, case, limit)]


@st.cache_data(max_entries=64, show_spinner=False)
def phantoms(case: str, seed: int, difficulty: float, params: tuple[tuple[str, object], ...], n: int = 1) -> list:
    """``generate(case, n, seed, difficulty, **params)``; ``params`` as sorted (name, value) pairs."""
    return generate(case, n=n, seed=int(seed), difficulty=float(difficulty), **dict(params))


@st.cache_data(max_entries=64, show_spinner=False)
def phantom_thumbnails(case: str, seed: int, difficulty: float, params: tuple, n: int, size: int = 130) -> list:
    """Previews of ``n`` phantoms drawn with seeds ``seed .. seed + n - 1`` (labels too)."""
    out = []
    for offset in range(n):
        phantom = phantoms(case, seed + offset, difficulty, params)[0]
        out.append((thumbnail(phantom.image, phantom.mask, size), phantom.label))
    return out


@st.cache_resource(max_entries=16, show_spinner="Building the network…")
def model(name: str, in_channels: int, num_classes: int, spatial_dims: int, width: int, input_size: int):
    """A freshly initialised network from the registry, shared read-only across sessions."""
    from medlearn.models import get_model

    return get_model(name, in_channels=in_channels, num_classes=num_classes, spatial_dims=spatial_dims,
                     width=width, input_size=input_size)


@st.cache_data(max_entries=64, show_spinner=False)
def model_summary(name: str, in_channels: int, num_classes: int, spatial_dims: int, width: int,
                  input_size: int) -> tuple[pd.DataFrame, int]:
    """(layer table with output shapes and parameter counts, total parameters)."""
    from medlearn.models.summary import count_parameters, describe_model

    net = model(name, in_channels, num_classes, spatial_dims, width, input_size)
    shape = (1, in_channels, *([input_size] * spatial_dims))
    rows = [{"layer": r["layer"], "type": r["type"],
             "output shape": " × ".join(str(d) for d in r["output_shape"]), "parameters": r["params"]}
            for r in describe_model(net, shape)]
    return pd.DataFrame(rows, columns=["layer", "type", "output shape", "parameters"]), int(count_parameters(net))


def digest(*parts) -> str:
    """A short content hash of arrays and/or bytes (shape and dtype included), for session caches
    keyed on pixels: an unchanged drawing or image gives the same digest on every rerun."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if part is None:
            h.update(b"\x00none")
        elif isinstance(part, (bytes, bytearray, memoryview)):
            h.update(b"\x01" + bytes(part))
        else:
            array = np.ascontiguousarray(part)
            h.update(f"\x02{array.dtype.str}{array.shape}".encode())
            h.update(array.tobytes())
    return h.hexdigest()


def session_memo(key: str, signature, compute):
    """``compute()`` once per ``signature``, kept in ``st.session_state[key]`` as ``(signature, value)``;
    a rerun with the same signature returns the kept value without calling ``compute``."""
    kept = st.session_state.get(key)
    if kept is not None and kept[0] == signature:
        return kept[1]
    value = compute()
    st.session_state[key] = (signature, value)
    return value
