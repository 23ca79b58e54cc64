"""The libraries' warnings and log messages while a file is read: notes on the image, never
terminal lines; outside a read (and in other threads) they behave as Python's defaults."""

import io
import logging
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import tifffile

from medlearn.data.io import read_image
from medlearn.data.io.library_notes import MAX_NOTES, Heard, as_notes, listening

ROOT = Path(__file__).resolve().parents[3]


def test_warnings_and_log_records_of_a_read_are_heard_not_printed(capfd):
    with listening() as heard:
        warnings.warn("odd header value", UserWarning)
        warnings.warn("odd header value", UserWarning)  # heard every time, not once per place
        warnings.warn("old API", DeprecationWarning)  # about code, not the file: not a note
        logging.getLogger("tifffile").error("invalid page offset 99")
        logging.getLogger("nibabel.global").warning("pixdim[1,2,3] should be positive")  # own terminal handler
        logging.getLogger("pydicom").info("just information")  # below warning level: not a note
    assert [(h.library, h.text) for h in heard] == [
        ("the reader", "odd header value"), ("the reader", "odd header value"),
        ("tifffile", "invalid page offset 99"), ("nibabel", "pixdim[1,2,3] should be positive")]
    assert capfd.readouterr().err == ""


OUTSIDE = """
import logging
from medlearn.data.io.library_notes import listening
with listening():
    logging.getLogger("tifffile").error("heard, not printed")
logging.getLogger("tifffile").error("tifffile speaking")  # no handler: Python's last resort prints it
logging.getLogger("nibabel.global").warning("nibabel speaking")  # its own handler prints it, once
logging.getLogger("pydicom").warning("pydicom speaking")  # pydicom's NullHandler keeps it quiet
"""


def test_outside_a_read_the_libraries_log_as_before():
    """In a process of its own: pytest puts handlers of its own on the root logger."""
    done = subprocess.run([sys.executable, "-c", OUTSIDE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.splitlines() == ["tifffile speaking", "nibabel speaking"]


def test_another_threads_warnings_pass_on_and_the_hook_is_restored():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        before = warnings.showwarning
        other = threading.Thread(target=lambda: warnings.warn("from another thread", UserWarning))
        with listening() as heard:
            other.start()
            other.join(10)
            warnings.warn("from the reading thread", UserWarning)
        assert warnings.showwarning is before
    assert [h.text for h in heard] == ["from the reading thread"]
    assert [str(w.message) for w in shown] == ["from another thread"]


def test_notes_say_each_message_once_on_one_line_and_only_so_many():
    heard = [Heard("pydicom", logging.WARNING, "Invalid value\n  for VR DS <_io.BytesIO object at 0x7f00>")] * 2
    heard += [Heard("tifffile", logging.ERROR, f"message {i}") for i in range(MAX_NOTES + 2)]
    notes = as_notes(heard)
    assert notes[0] == "While reading, pydicom reported: Invalid value for VR DS"
    assert len(notes) == MAX_NOTES + 1 and notes[-1].startswith("… and 3 more")


def test_a_library_warning_while_reading_becomes_a_note_on_the_image(capfd):
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.arange(64, dtype=np.uint8).reshape(8, 8), metadata=None, description='{"shape": [4, 4]}')
    image = read_image(buf.getvalue(), "shaped.tif")
    assert image.shape == (8, 8)
    assert "While reading, tifffile reported: shaped series shape does not match page shape" in image.reading_notes()
    assert capfd.readouterr().err == ""
