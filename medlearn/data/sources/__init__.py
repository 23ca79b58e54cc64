"""Dataset sources: phantoms, package samples, downloads, mirrored and imported folders.

``list_sources(case=None)`` and ``get_source(name)`` read the registry; each source
module registers one or more sources on import (in the order below).
"""

from medlearn.data.sources.base import (
    DatasetSource,
    Sample,
    SPLITS,
    get_source,
    list_sources,
    register_source,
)
from medlearn.data.sources import (  # noqa: F401  (register on import)
    phantom_source,
    package_samples,
    medmnist_sources,
    busi,
    lidc,
    decathlon,
    sunnybrook,
    gashissdb,
    chase,
    idrid,
    folder,
)

__all__ = ["DatasetSource", "Sample", "SPLITS", "get_source", "list_sources", "register_source"]
