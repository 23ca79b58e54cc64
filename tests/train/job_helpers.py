"""Job targets for the job-manager tests that look inside the worker process."""

from __future__ import annotations

import sys


def report_modules(case_key, arch, source, callbacks=(), store=None, run_id=None):
    """Finish the run with which UI packages the worker process has imported."""
    loaded = sorted({name.split(".")[0] for name in sys.modules} & {"streamlit", "ui", "app", "pages"})
    main = sys.modules["__main__"]
    store.finish(run_id, "done", metrics={"imported": loaded, "main_file": getattr(main, "__file__", None)})
    return store.get_run(run_id)
