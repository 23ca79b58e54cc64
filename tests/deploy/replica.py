"""A stand-in for one app replica in the cluster tests: the job manager a Streamlit replica
holds (same store, same backend, same code), driven by commands on stdin, answers on stdout.

Commands (one JSON per line): {"submit": {...}} -> {"job": id};
{"view": id} -> {"status", "epochs"}; {"live": [case, arch, source]} -> {"job": id|None}.
"""

import json
import sys

from medlearn.train.jobs import JobManager
from train_helpers import fit_tiny

manager = JobManager()
print("@@" + json.dumps({"ready": True}), flush=True)  # Ray prints its own lines too
for line in sys.stdin:
    command = json.loads(line)
    if "submit" in command:
        answer = {"job": manager.submit(target=fit_tiny, **command["submit"])}
    elif "view" in command:
        job = command["view"]
        answer = {"status": str(manager.status(job)), "epochs": [r.epoch for r in manager.metrics(job, "epoch")]}
    elif "live" in command:
        answer = {"job": manager.find_live(*command["live"])}
    else:
        break
    print("@@" + json.dumps(answer), flush=True)
manager.close(timeout=2)
