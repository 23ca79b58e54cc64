"""``python -m medlearn cases``: the six case studies and their tasks."""

import json


def add_parser(sub):
    p = sub.add_parser("cases", help="list the case studies")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def run(args) -> int:
    from medlearn.cases import list_cases

    rows = [
        {
            "key": c.key,
            "title": c.title,
            "task": c.task.kind,
            "dims": f"{c.task.spatial_dims}D",
            "classes": list(c.task.class_names),
            "architectures": list(c.recipe.architectures),
            "sources": list(c.sources),
        }
        for c in list_cases(studies=True)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['key']:<12} {r['title']:<32} {r['task']:<15} {r['dims']}  archs: {', '.join(r['architectures'])}")
    return 0
