"""Enhancement as a training option: the same ACE or CLAHE before training and prediction.

The breast case teaches that raw, speckled ultrasound trains worse than images after
adaptive contrast enhancement; ``train_recipe(..., enhance="ace")`` races the same
network on enhanced images. The name and parameters travel in the run plan and the
checkpoint's metadata, and :func:`medlearn.predict.prepare` applies them again.
"""

from __future__ import annotations

from medlearn.errors import MedlearnInputError, UnknownNameError

ENHANCEMENTS = ("ace", "clahe")


def check_enhance(enhance: str | None, params: dict | None = None) -> tuple[str | None, dict]:
    """``(enhance, params)`` checked: a known enhancement name (or None) and a dict of its keywords."""
    if enhance in (None, "", "none"):
        if params:
            raise MedlearnInputError("Enhancement parameters were given without an enhancement.")
        return None, {}
    if enhance not in ENHANCEMENTS:
        raise UnknownNameError(f"Unknown enhancement {enhance!r}; use one of: {', '.join(ENHANCEMENTS)}.")
    if params is not None and not isinstance(params, dict):
        raise MedlearnInputError("Enhancement parameters must be a mapping of names to values.")
    return enhance, dict(params or {})


def enhance_image(image, enhance: str | None, params: dict | None = None):
    """``image`` (a MedImage) through ACE or CLAHE with ``params`` (defaults when empty);
    unchanged when ``enhance`` is None. The same call prepares training and prediction."""
    enhance, params = check_enhance(enhance, params)
    if enhance is None:
        return image
    import medlearn.enhance as enh

    try:
        return getattr(enh, enhance)(image, **params)
    except TypeError as exc:
        raise MedlearnInputError(f"Bad {enhance.upper()} parameters {sorted(params)}: {exc}.") from None
