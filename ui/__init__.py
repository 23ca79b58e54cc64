"""The Streamlit-aware layer of MedLearn: cached resources, viewers, panels, uploader.

``medlearn`` never imports Streamlit; pages call these helpers, which call ``medlearn``.
``ui.render`` is the one Streamlit-free module here (pure NumPy drawing, tested directly).
"""
