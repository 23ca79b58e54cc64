"""Lessons on when not to trust a model: evaluation at any threshold and prevalence,
calibration, explanations under test, shortcut learning, robustness, overfitting and the
class's own reader study. One module per lesson; the app's Trust section draws them.
"""
