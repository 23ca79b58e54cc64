"""Case-study registry: one module per case, registered on import in teaching order."""

from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, get_case, list_cases, studies_of
from medlearn.cases import retina, breast, lung, hippocampus, heart, gastric  # noqa: F401  (registers)
from medlearn.cases import retina_vessels  # noqa: F401,E402  (a further study of retina: after its parent)
from medlearn.cases import retina_lesions  # noqa: F401,E402  (a further study of retina: after its parent)
from medlearn.cases import lung_detection  # noqa: F401,E402  (a further study of lung: after its parent)

__all__ = ["CaseStudy", "PublishedResult", "Recipe", "Task", "get_case", "list_cases", "studies_of"]
