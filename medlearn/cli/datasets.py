"""``python -m medlearn datasets``: every dataset source, its cases, licence and whether it is here."""

from __future__ import annotations

import json


def add_parser(sub):
    p = sub.add_parser("datasets", help="list dataset sources and whether each is available here")
    p.add_argument("--case", help="only the sources of this case (e.g. breast)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def run(args) -> int:
    from medlearn.data.sources import list_sources

    rows = [s.describe() for s in list_sources(args.case)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [(r["name"], r["kind"], ", ".join(r["cases"]), r["available"] or "no (fetch it)", r["licence"])
             for r in rows]
    titles = ("name", "kind", "cases", "available here", "licence")
    widths = [max(len(str(row[i])) for row in [titles, *table]) for i in range(4)]
    for row in [titles, tuple("-" * w for w in widths) + ("-" * 7,), *table]:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[4])
    return 0
