"""The Streamlit-aware layer of MedLearn, grouped by what a page shows:

* ``ui.shared``: widgets every page uses (icons, plain text, drawing and the one overlay
  stack, viewers, caches, links, projector layout, sidebar, instructor mode, the case-page
  frame, the home page, the server guards);
* ``ui.explore``: the Explore section (data browser, phantom lab, cine, one extra per case);
* ``ui.predict``: the Predict section (model picker, answer, explanations, uploads, quiz,
  drawing challenge, exports, the first-visit model, dataset downloads);
* ``ui.train``: the Train section and the Architecture race (settings, the job bridge, live
  charts, stored runs, architecture cards);
* ``ui.trust``: the Trust section (one module per lesson).

Each panel keeps its widgets under its own session-state prefix (``predict.<case>``,
``train.<case>``, ``trust.<case>``...). ``medlearn`` never imports Streamlit; pages call these
helpers, which call ``medlearn``. ``ui.shared.render`` is Streamlit-free (tested directly).
"""
