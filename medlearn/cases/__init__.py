"""Case-study registry: one module per case, registered on import in teaching order."""

from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, get_case, list_cases, studies_of
from medlearn.cases import retina, breast, lung, hippocampus, heart, gastric  # noqa: F401  (registers)

__all__ = ["CaseStudy", "PublishedResult", "Recipe", "Task", "get_case", "list_cases", "studies_of"]
