"""User text (file names, header strings, archive entry names) made safe to show.

One rule for the command line and the app: control characters (terminal escapes, line
breaks) and the invisible bidirectional and zero-width characters that can make a name
read differently (a right-to-left override turns ``exe.png`` around) are shown as their
escape codes (``\\u202e``) instead of acting. The app escapes Markdown on top of this
(``ui.shared.text.plain``).
"""

from __future__ import annotations

import unicodedata

MAX_CHARS = 300
"""User text longer than this is cut (with ``…``): a name, not a page."""


def visible(text: object, limit: int = MAX_CHARS) -> str:
    """``text`` with every non-printable or format character (Unicode categories Cc, Cf, Zl,
    Zp: controls, bidi overrides, zero-width joiners) written as its escape code."""
    out = "".join(c if c.isprintable() and unicodedata.category(c) != "Cf"
                  else c.encode("unicode_escape").decode("ascii") for c in str(text))
    return out if len(out) <= limit else out[: limit - 1] + "…"
