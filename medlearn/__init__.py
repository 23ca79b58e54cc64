"""MedLearn: a teaching dashboard for deep learning in medical imaging.

The core package never imports Streamlit; the app (``app.py``, ``pages/``, ``ui/``)
is a thin layer over it.
"""

__version__ = "0.1.0"
