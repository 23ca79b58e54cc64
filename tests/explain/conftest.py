"""Fixtures for the explanation tests."""

import pytest

from cam_helpers import BrightnessClassifier, TinySegmenter


@pytest.fixture
def classifier():
    return BrightnessClassifier().eval()


@pytest.fixture
def segmenter():
    return TinySegmenter().eval()
