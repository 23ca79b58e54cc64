"""``python -m medlearn evaluate CASE [--data SOURCE|FOLDER] [--split val|test|all]``.

Scores a trained model on labelled data (:func:`medlearn.evaluate.evaluate`): every figure
with its n and a bootstrap 95 % interval, as a table or ``--json``. ``--split val`` on the
data the model trained on rebuilds that run's validation split, and the table shows the
scores stored at training beside the new ones. A bad option, source or model: one
``error:`` line and exit status 2.
"""

from __future__ import annotations

import json
import math
import sys


def add_parser(sub):
    p = sub.add_parser("evaluate", help="score a trained model on labelled data (with 95%% intervals)")
    p.add_argument("case", help="case key, e.g. breast (see: python -m medlearn cases)")
    p.add_argument("--data", default=None, metavar="SOURCE|FOLDER",
                   help="dataset source (see: python -m medlearn datasets) or a folder of labelled images "
                        "(default: the data the model was trained on)")
    p.add_argument("--arch", default=None,
                   help="architecture (default: the best trained network of the case)")
    p.add_argument("--checkpoint", default=None,
                   help="score this checkpoint (.safetensors or .classic folder)")
    p.add_argument("--split", default="val", metavar="val|test|all",
                   help="which items (default val: the training run's validation split when --data is the "
                        "data it trained on)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="score at most N items")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples of patients/items for the 95%% intervals "
                        "(default 1000; 0: none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--json", action="store_true",
                   help="print JSON (with one row per item) instead of a table")
    return p


def run(args) -> int:
    from medlearn.evaluate import evaluate

    with _progress(enabled=sys.stderr.isatty()) as progress:
        result = evaluate(args.case, args.data, arch=args.arch, checkpoint=args.checkpoint, split=args.split,
                          resamples=args.bootstrap, seed=args.seed, limit=args.limit, progress=progress)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(table(result))
    return 0


def table(result) -> str:
    """The evaluation as text: what was scored, one line per figure, the notes."""
    from medlearn.cli.predict import plain

    unit = "patients" if result.n_groups < result.n_items else "items"
    patients = ""
    if unit == "patients":
        patients = f" of {result.n_groups} patient{'s' if result.n_groups != 1 else ''}"
    lines = [plain(f"{result.case}: {result.arch}  ({result.checkpoint})"),
             plain(f"data: {result.split_note}; {result.n_items} item{'s' if result.n_items != 1 else ''}"
                   + patients)]
    if result.threshold is not None:
        lines.append(f"decisions at the operating threshold {result.threshold:.3f}")
    show_training = any(f.training is not None for f in result.figures)
    width = max([len(f.label) for f in result.figures] + [6])
    intervals = [f"{_num(f.low)} to {_num(f.high)}" if not math.isnan(f.low) else "-" for f in result.figures]
    span = max([len(i) for i in intervals] + [12])
    head = (f"{'figure':<{width}}  {'value':>8}  {'95% interval':<{span}}  {'n':>5}"
            + ("  training" if show_training else ""))
    lines += ["", head, "-" * len(head)]
    for f, interval in zip(result.figures, intervals):
        row = f"{f.label:<{width}}  {_num(f.value):>8}  {interval:<{span}}  {f.n:>5}"
        if show_training:
            row += f"  {_num(f.training) if f.training is not None else '-'}"
        lines.append(row)
    lines.append("")
    if result.resamples and result.n_groups >= 2:
        lines.append(f"intervals: percentile bootstrap, {result.resamples} resamples of {unit}, "
                     f"seed {result.seed}")
    lines += [plain(f"note: {note}") for note in result.notes]
    return "\n".join(lines)


def _num(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


class _progress:
    """A tqdm bar on stderr (only on a terminal) driven by ``progress(done, total)`` calls."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar = enabled, None

    def __enter__(self):
        return self.update if self.enabled else None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="predicting", unit="item", file=sys.stderr, leave=False)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False
