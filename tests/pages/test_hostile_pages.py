"""The hostile-file corpus (``tests/hostile_corpus.py``) on the pages: "Try your own image" and a
case page's Predict upload refuse each bad file with the reason the reader, ``info`` and
``predict`` give (``tests/test_hostile_corpus.py``), and the Try page shows each accepted
file's reading note beside the image. Nothing crashes the page (issue 12)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hostile_corpus import expected, write_corpus  # noqa: E402

CLASSES = expected()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile_pages")
    write_corpus(folder)
    return folder


def _shown(values) -> str:
    """Page text without Markdown's escapes (user text is shown escaped, as plain text)."""
    return "\n".join(v.replace("\\", "") for v in values)


def _upload(at, key: str, path: Path):
    at.file_uploader(key=key).set_value((path.name, path.read_bytes(), "application/octet-stream")).run()
    return at


@pytest.mark.parametrize("name", list(CLASSES))
def test_try_page_refuses_with_the_reason_or_notes_the_choice(name, corpus, open_page, assert_clean):
    e = CLASSES[name]
    at = _upload(open_page("try_your_own"), "upload.widget", corpus / e.file)
    assert_clean(at)
    if e.refused:
        assert e.refused.replace("\\", "") in _shown(err.value for err in at.error), [err.value for err in at.error]
    else:
        assert not at.error, [err.value for err in at.error]
        assert not e.note or e.note.replace("\\", "") in _shown(c.value for c in at.caption)


@pytest.mark.parametrize("name", [n for n, e in CLASSES.items() if e.refused])
def test_a_case_page_upload_refuses_the_same_way(name, corpus, open_page, assert_clean):
    from model_fixtures import make_checkpoint

    make_checkpoint("breast")  # a trained model: the Predict section offers its image choices
    e = CLASSES[name]
    at = open_page("breast")
    at.segmented_control(key="breast.section").set_value("Predict").run()
    at.radio(key="predict.breast.input").set_value("Upload").run()
    at = _upload(at, "predict.breast.upload.widget", corpus / e.file)
    assert_clean(at)
    assert e.refused.replace("\\", "") in _shown(err.value for err in at.error), [err.value for err in at.error]
