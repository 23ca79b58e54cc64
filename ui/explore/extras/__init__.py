"""Case extras: one module per case, each with ``render(case)`` drawn in the case page's Explore section."""
