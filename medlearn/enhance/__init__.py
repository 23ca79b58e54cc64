"""Image enhancement for teaching: ACE, CLAHE, CT windowing and H&E stain separation.

Every function takes a ``MedImage`` or a plain array and never imports Streamlit.
"""

from medlearn.enhance.ace import ace
from medlearn.enhance.clahe import clahe
from medlearn.enhance.stain import StainChannels, separate_stains
from medlearn.enhance.windowing import apply_window, get_preset, list_presets, with_window

__all__ = [
    "ace",
    "apply_window",
    "clahe",
    "get_preset",
    "list_presets",
    "separate_stains",
    "StainChannels",
    "with_window",
]
