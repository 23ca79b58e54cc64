"""Hippocampus extra: the review's five-way race (FCN, U-Net, SegNet, 3D U-Net, Mask R-CNN)
against MedLearn's own, said plainly where the rankings differ.

MedLearn's side is read from the held-out figures of ``docs/real_results.json``
(:func:`medlearn.results.measured`: each default recipe trained on the real MSD subset and
scored on volumes it never saw, with n and a 95 % bootstrap interval); nothing here is typed
in by hand but the review's two findings. Two networks whose intervals overlap are not told
apart by so few volumes, and the text says so instead of ranking them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy
from medlearn.models import get_spec
from ui.shared import icons

REVIEW_BEST = "maskrcnn"  # Cai et al. 2020: Mask R-CNN scored the highest Dice of the five
REVIEW_PAIR = ("unet3d", "unet")  # ... and 2D U-Net fell far behind 3D U-Net
METRIC = "dice"


def ranked(rows: list[dict], metric: str = METRIC) -> list[dict]:
    """The rows that scored ``metric``, best first: ``{"arch", "value", "low", "high", "n", "row"}``."""
    out = []
    for row in rows:
        figure = (row.get("figures") or {}).get(metric)
        if figure and figure.get("value") is not None:
            out.append({"arch": row["arch"], "value": float(figure["value"]), "low": figure.get("ci_low"),
                        "high": figure.get("ci_high"), "n": figure.get("n"), "row": row})
    return sorted(out, key=lambda r: -r["value"])


def _overlap(a: dict, b: dict) -> bool:
    """Whether two 95 % intervals overlap (no interval: treated as told apart)."""
    if None in (a["low"], a["high"], b["low"], b["high"]):
        return False
    return a["low"] <= b["high"] and b["low"] <= a["high"]


def _figure(r: dict) -> str:
    ci = f" [{r['low']:.3f}, {r['high']:.3f}]" if r["low"] is not None else ""  # 3 places: overlap is visible
    return f"Dice {r['value']:.3f}{ci}"


def differences(ranking: list[dict]) -> list[str]:
    """Where our ranking differs from the review's (or agrees), one plain sentence per finding."""
    if not ranking:
        return []
    by_arch = {r["arch"]: r for r in ranking}
    top, n = ranking[0], ranking[0]["n"]
    out = []
    best = by_arch.get(REVIEW_BEST)
    if best is not None:
        place = [r["arch"] for r in ranking].index(REVIEW_BEST) + 1
        title = get_spec(REVIEW_BEST).title.split(" (")[0]
        if place == 1:
            out.append(f"Same as the review: {title} ranks first of {len(ranking)} here ({_figure(best)}, n {n}).")
        else:
            tied = _overlap(best, top)
            out.append(f"**Differs from the review:** the review ranked {title} first; here it ranks {place} of "
                       f"{len(ranking)} ({_figure(best)}, n {n}) and {get_spec(top['arch']).title} is first "
                       f"({_figure(top)})" + (", though their intervals overlap: these volumes cannot tell the two "
                                              "apart." if tied else ", and their intervals do not overlap."))
    three, two = (by_arch.get(a) for a in REVIEW_PAIR)
    if three is not None and two is not None:
        if _overlap(three, two):
            ahead = " (2D U-Net even scores higher)" if two["value"] > three["value"] else ""
            out.append(f"**Differs from the review:** the review found 2D U-Net far behind 3D U-Net; here they are "
                       f"not told apart{ahead}: 3D U-Net {_figure(three)}, 2D U-Net {_figure(two)}, overlapping "
                       f"intervals (n {n}).")
        elif three["value"] > two["value"]:
            out.append(f"Same as the review: 3D U-Net ({_figure(three)}) beats 2D U-Net ({_figure(two)}).")
        else:
            out.append(f"**Differs from the review:** 2D U-Net ({_figure(two)}) beats 3D U-Net ({_figure(three)}), "
                       "which the review found far ahead.")
    return out


def ranking_table(ranking: list[dict]) -> pd.DataFrame:
    """Our ranking as shown: place, network, what it sees, Dice with interval and n, recipe."""
    rows = []
    for place, r in enumerate(ranking, 1):
        spec, plan = get_spec(r["arch"]), r["row"].get("plan") or {}
        rows.append({"place": place, "network": spec.title, "sees": "volumes" if plan.get("model_dims") == 3
                     else "slices", "Dice [95 % interval]": _figure(r).removeprefix("Dice "),
                     "recipe": f"{plan.get('input_size')} px · {plan.get('epochs')} ep"})
    return pd.DataFrame(rows)


def render(case: CaseStudy) -> None:
    """The review's five against ours on real held-out volumes (nothing when none is measured)."""
    from medlearn.results import measured

    ranking = ranked([r for r in measured(case.key) if r.get("source") == "msd_hippocampus"
                      and (r.get("init") or "scratch") == "scratch"])
    st.subheader(f"{icons.RACE} The review's race, and ours")
    st.markdown("The review compared FCN, U-Net, SegNet, 3D U-Net and Mask R-CNN by Dice: Mask R-CNN scored "
                "highest, and 2D U-Net fell far behind 3D U-Net. MedLearn raced the same five with its default "
                "real-data recipe, each scored on MSD volumes it never trained on.")
    if not ranking:
        st.caption("No real-data figures are recorded in this checkout (scripts/real_results.py measures them).")
        return
    st.dataframe(ranking_table(ranking), hide_index=True, width="stretch")
    st.caption(f"Each Dice over the same {ranking[0]['n']} held-out MSD volumes; 95 % bootstrap intervals over "
               "volumes.")
    for sentence in differences(ranking):
        st.markdown(f"- {sentence}")
    st.caption("Ours: the other volumes of a small MSD subset, a few CPU minutes each, from scratch; the "
               "review's: full training. With so few held-out volumes, overlapping intervals mean \"not told "
               "apart\". Race them yourself in the Train section (the five are pre-selected).")
