"""``python -m medlearn prepare [CASE...]``: train every default recipe without a checkpoint."""

from __future__ import annotations

import os

from medlearn.train.backends import RAY_ADDRESS_ENV


def add_parser(sub):
    p = sub.add_parser("prepare", help="train the default models that have no checkpoint yet")
    p.add_argument("cases", nargs="*", help="case keys (default: all cases)")
    p.add_argument("--data", default=None,
                   help="dataset source (default: each case's real data when it is here, else phantoms)")
    p.add_argument("--first", action="store_true",
                   help="only each case's first network (enough for every Predict section)")
    p.add_argument("--dry-run", action="store_true", help="only list what would be trained")
    return p


def run(args) -> int:
    from medlearn.cases import get_case, list_cases
    from medlearn.data.sources.choice import default_source
    from medlearn.train.callbacks import ProgressBar
    from medlearn.train.recipes import recipe_ready, train_recipe

    cases = [get_case(k) for k in args.cases] if args.cases else list_cases(studies=True)
    todo = []
    for case in cases:
        source = args.data or default_source(case)
        recipe = case.recipe_for(source)  # a real source may race other networks (2D crops: no 3D one)
        archs = [recipe.first_network] if args.first else recipe.architectures
        for arch in archs:
            ready = recipe_ready(case.key, arch, source)
            print(f"{case.key:<12} {arch:<12} {source:<16} {'ready' if ready else 'to train'}")
            if not ready:
                todo.append((case.key, arch, source))
    if args.dry_run or not todo:
        print(f"{len(todo)} model(s) to train")
        return 0
    if os.environ.get(RAY_ADDRESS_ENV, "").strip():
        return _on_the_cluster(todo)
    failed = 0
    for i, (case_key, arch, source) in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] training {arch} for {case_key} on {source}", flush=True)
        record = train_recipe(case_key, arch, source=source, callbacks=(ProgressBar(),))
        failed += record.status != "done"
        print(f"  run {record.id} {record.status} in {record.seconds or 0:.1f}s -> {record.checkpoint}")
    return 1 if failed else 0


def _on_the_cluster(todo: list[tuple[str, str, str]]) -> int:
    """With ``MEDLEARN_RAY_ADDRESS`` set, the runs go to the deployment's Ray workers (all
    queued at once, as a class's races are) and this command waits for them."""
    from medlearn.train.jobs import JobManager

    manager = JobManager()
    try:
        jobs = {manager.submit(case_key, arch, source): (case_key, arch, source) for case_key, arch, source in todo}
        print(f"{len(jobs)} run(s) queued on the Ray cluster", flush=True)
        failed = 0
        for job, (case_key, arch, source) in jobs.items():
            status = manager.wait(job)
            record = manager.store.get_run(job)
            failed += status != "done"
            print(f"  run {job} {case_key} {arch} on {source}: {status}"
                  + (f" ({record.error})" if record.error else f" -> {record.checkpoint}"), flush=True)
        return 1 if failed else 0
    finally:
        manager.close()
