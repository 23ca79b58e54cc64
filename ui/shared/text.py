"""User text in the app: plain, whatever it holds (see :mod:`medlearn.text`).

Streamlit renders the text of ``st.caption``, ``st.error``, ``st.info``, image captions and
labels as Markdown, so a file named ``![x](http://…)`` would load an image and a name with
backticks would turn into code. :func:`plain` makes such text inert: control and bidi
characters shown as escape codes, every Markdown character escaped.
"""

from __future__ import annotations

import re

from medlearn.text import visible

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")


def plain(text: object) -> str:
    """``text`` as inert Markdown: what it says, shown as written."""
    return _MARKDOWN.sub(r"\\\1", visible(text))



def counted(n: int, one: str, many: str | None = None) -> str:
    """``counted(1, "box", "boxes")`` -> ``"1 box"``, ``counted(0, "box", "boxes")`` -> ``"no boxes"``."""
    word = one if n == 1 else (many or one + "s")
    return f"{n} {word}" if n else f"no {word}"
