"""Every class of hostile or odd file (``tests/hostile_corpus.py``) is refused with its reason, or
read with a note saying what was chosen or corrected: by the reader (path and upload alike), the
command line (``info`` and ``predict``: exactly one ``error:`` line on stderr) and the predict
core (the notes a model's answer carries)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_corpus import CRAFTED, Expected, expected, write_corpus

from medlearn.data.io import read_image
from medlearn.errors import MedlearnInputError

ROOT = Path(__file__).resolve().parents[1]
CLASSES = expected()
REFUSED = [key for key, e in CLASSES.items() if not e.accepted]
ACCEPTED = [key for key, e in CLASSES.items() if e.accepted]
THROUGH_INFO = ["crafted-name", "crafted-name-refused", "nifti-5d-vector", "nifti-4d", "tiff-truncated",
                "dicom-unsupported-codec", "empty", "zip-two-series"]
"""Classes also checked through ``python -m medlearn info`` in a process of its own (about a
second each: a subset keeps the file fast)."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, Expected]]:
    folder = tmp_path_factory.mktemp("hostile")
    return folder, write_corpus(folder)


def _one_visible_line(message: str) -> None:
    """A refusal prints as one line of visible characters (a name's line break or right-to-left
    override is shown as its escape code)."""
    assert "\n" not in message and "\u202e" not in message and message.strip() == message


def _check_notes(notes: list[str], e: Expected) -> None:
    assert not e.note or any(e.note in n for n in notes), notes


@pytest.mark.parametrize("key", list(CLASSES))
def test_the_reader_refuses_or_notes_as_expected_from_a_path_and_an_upload(corpus, key):
    folder, classes = corpus
    e = classes[key]
    path = folder / e.file
    for source, name in ((path, None), (path.read_bytes(), e.file)):
        if e.accepted:
            image = read_image(source, name)
            assert image.source == e.file  # the name as given, unchanged (shown as plain text)
            _check_notes(image.reading_notes(), e)
            assert image.describe()["notes"] == image.reading_notes()
        else:
            with pytest.raises(MedlearnInputError) as caught:
                read_image(source, name)
            assert e.refused in str(caught.value)
            _one_visible_line(str(caught.value))


def test_a_crafted_name_is_shown_as_its_escape_codes(corpus):
    folder, classes = corpus
    with pytest.raises(MedlearnInputError) as caught:
        read_image(folder / classes["crafted-name-refused"].file)
    assert str(caught.value).startswith(CRAFTED.replace("\u202e", "\\u202e") + "\\nline.png: ")


def _info(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medlearn", "info", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("key", THROUGH_INFO)
def test_info_prints_json_with_the_notes_or_exactly_one_error_line(corpus, key):
    folder, classes = corpus
    e = classes[key]
    done = _info(folder / e.file)
    if e.accepted:
        assert done.returncode == 0 and done.stderr == ""
        out = json.loads(done.stdout)
        assert out["source"] == e.file
        _check_notes(out["notes"], e)
    else:
        assert done.returncode == 2 and done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and e.refused in lines[0], done.stderr
        _one_visible_line(lines[0])


def _predict(path: Path) -> tuple[int, str, str]:
    from medlearn.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["predict", "lung", str(path)])
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("key", REFUSED)
def test_predict_refuses_with_the_same_reason_on_one_line(corpus, key):
    folder, classes = corpus
    e = classes[key]
    status, out, err = _predict(folder / e.file)
    assert status == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and e.refused in lines[0]


def test_predict_in_a_process_of_its_own_prints_one_error_line(corpus):
    """The whole command, imports (torch, MONAI) included: nothing else reaches stderr."""
    folder, classes = corpus
    e = classes["tiff-truncated"]
    done = subprocess.run([sys.executable, "-m", "medlearn", "predict", "lung", str(folder / e.file)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and e.refused in lines[0], done.stderr


@pytest.fixture(scope="module")
def card():
    """A 2D model's card for the lung case (untrained: no checkpoint is read; the input checks and
    preparation are those of any trained model)."""
    from medlearn.card import card_of
    from medlearn.train.recipes import untrained_meta

    return card_of(untrained_meta("lung", "resnet18"))


@pytest.mark.parametrize("key", ACCEPTED)
def test_the_predict_core_carries_the_reading_notes(corpus, card, key):
    import torch

    from medlearn.predict import prepare

    folder, classes = corpus
    e = classes[key]
    image = read_image(folder / e.file)
    prepared = prepare(image, card, torch.device("cpu"), "Lung nodules")
    _check_notes(prepared.notes, e)
    assert all(n in prepared.notes for n in image.reading_notes())
