"""Every icon the app draws, defined once: Streamlit's bundled Material Symbols.

Emoji need an emoji font on the viewer's machine (a classroom PC or headless Chromium
without one shows empty boxes); the Material Symbols font ships with Streamlit, so
``":material/home:"`` draws everywhere. Use these in ``icon=`` arguments (``st.Page``,
``st.page_link``, ``st.button``, ``st.error``...) and in Markdown text (titles, headers,
segmented-control labels). A case's own icon is its registry field
(``medlearn.cases``, e.g. ``":material/pulmonology:"``); :func:`case_icon` reads it.
"""

from __future__ import annotations

HOME = ":material/home:"
UPLOAD = ":material/upload_file:"
RACE = ":material/sports_score:"
LAYERS = ":material/layers:"
EXPLORE = ":material/explore:"
PREDICT = ":material/target:"
TRAIN = ":material/model_training:"
OPEN = ":material/arrow_forward:"
START = ":material/school:"
ERROR = ":material/block:"
WARNING = ":material/warning:"
INFO = ":material/info:"
RIGHT = ":material/check_circle:"
WRONG = ":material/cancel:"
TIMER = ":material/timer:"
WEIGHTS = ":material/psychology:"
STOP = ":material/stop_circle:"
REPLAY = ":material/replay:"
RESET = ":material/restart_alt:"
QUEUE = ":material/hourglass_top:"
DOWNLOAD = ":material/download:"
PAINT = ":material/brush:"
MEASURE = ":material/straighten:"
CONTRAST = ":material/contrast:"
STAIN = ":material/science:"
HEART = ":material/monitor_heart:"
WINDOW = ":material/window:"
CINE = ":material/movie:"
DOCTOR = ":material/stethoscope:"
NEXT = ":material/play_arrow:"
CASE_FALLBACK = ":material/folder_open:"
CLEAN = ":material/cleaning_services:"
DISK = ":material/hard_drive:"
UNFAMILIAR = ":material/travel_explore:"
FAMILIAR = ":material/verified:"
TRUST = ":material/fact_check:"


def case_icon(case) -> str:
    """The case's registry icon when it is a Material name, else a neutral folder (never an emoji)."""
    icon = getattr(case, "icon", "") or ""
    return icon if icon.startswith(":material/") and icon.endswith(":") else CASE_FALLBACK

