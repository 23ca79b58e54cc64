"""The Trust section of a case page: can you trust this model? (issue 14).

:mod:`ui.trust.section` picks the model under test and the lesson; each lesson is one
module of this package with ``render(case, model, key)``; the computations live in
:mod:`medlearn.trust`.
"""
