"""``python -m medlearn train CASE --arch A``: train one model with a progress bar."""

from __future__ import annotations

import argparse

from medlearn.train.enhancement import ENHANCEMENTS  # light: no torch


def add_parser(sub):
    p = sub.add_parser("train", help="train one model for a case (default recipe on phantoms)")
    p.add_argument("case", help="case key, e.g. breast (see: python -m medlearn cases)")
    p.add_argument("--arch", help="architecture (default: the case's first)")
    p.add_argument("--data", default="phantoms", help="dataset source (default: phantoms)")
    p.add_argument("--epochs", type=int, help="epochs (default: the case's recipe)")
    p.add_argument("--input-size", type=int, help="input size in pixels per axis")
    p.add_argument("--n-train", type=int, help="training items (default: the recipe's)")
    p.add_argument("--n-val", type=int, help="validation items (default: the recipe's)")
    p.add_argument("--batch-size", type=int, help="images per step")
    p.add_argument("--width", type=int, help="model width (see the architecture's notes)")
    p.add_argument("--learning-rate", type=float, help="optimiser step size (default: the recipe's)")
    p.add_argument("--enhance", choices=ENHANCEMENTS,
                   help="enhance every image first (ACE or CLAHE, default parameters); predictions repeat it")
    p.add_argument("--init", default="scratch", metavar="WEIGHTS",
                   help="starting weights: scratch (default), imagenet (cached weights only), or "
                        "medlearn:PATH / medlearn:RUN_ID (warm start from another MedLearn checkpoint)")
    p.add_argument("--crop", type=float, metavar="FRACTION",
                   help="the central fraction of the field of view the model sees (a region of interest, 0.1-1)")
    p.add_argument("--augment", choices=("flips", "strong", "none"),
                   help="training augmentation (default: the recipe's): flips (and turns where orientation "
                        "is meaningless), strong (plus small rotations, zooms, intensity changes) or none")
    p.add_argument("--no-augment", action="store_true", help="train without augmentation (= --augment none)")
    p.add_argument("--balanced", action=argparse.BooleanOptionalAction, default=None,
                   help="class-balanced training batches for a classifier (default: the recipe's)")
    p.add_argument("--fold", metavar="K/N",
                   help="cross-validation: hold out fold K of N patient-level folds (e.g. 2/5) instead of --n-val items")
    p.add_argument("--full", action="store_true",
                   help="the larger recipe for a GPU: 5x the epochs (at least 50), 2x the width, every training item")
    p.add_argument("--seed", type=int, default=0, help="split and initialisation seed (default 0)")
    p.add_argument("--resume", action="store_true", help="continue from the last saved epoch")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only the result")
    return p


def run(args) -> int:
    from medlearn.cases import get_case
    from medlearn.train.callbacks import ProgressBar
    from medlearn.train.recipes import train_recipe

    case = get_case(args.case)
    arch = args.arch or case.recipe_for(args.data).first_network
    overrides = {k: getattr(args, k) for k in ("batch_size", "width", "learning_rate", "crop", "balanced", "fold", "full")
                 if getattr(args, k) is not None}
    extra = (f", {args.enhance.upper()}" if args.enhance else "") + (f", from {args.init}" if args.init != "scratch" else "")
    print(f"training {arch} on {case.title} ({args.data}{extra}, seed {args.seed})", flush=True)
    record = train_recipe(case.key, arch, source=args.data, epochs=args.epochs, input_size=args.input_size,
                          n_train=args.n_train, n_val=args.n_val, seed=args.seed, resume=args.resume,
                          enhance=args.enhance, init=args.init,
                          augment=False if args.no_augment else (args.augment or True), callbacks=() if args.quiet else (ProgressBar(),), **overrides)
    scores = "  ".join(f"{k}={v:.4f}" for k, v in record.metrics.items()
                       if k in case.metrics and isinstance(v, float))
    print(f"run {record.id} {record.status} in {record.seconds or 0:.1f}s  {scores}")
    print(f"checkpoint: {record.checkpoint}")
    return 0 if record.status in ("done", "stopped") else 1
