"""Lesions study extra: do the grading network's maps land on lesions?

The diabetic-retinopathy grading network (the retina page's Grading study) explains its
grade with Grad-CAM; here that map is laid over photographs whose hard exudates are known
(IDRiD's expert masks where the data is on this machine, the phantoms' exact ones always)
and scored by :mod:`medlearn.trust.lesion_cam`: the pointing game and the energy inside
lesions, each beside what chance would score. One photograph is explained when picked;
every photograph of the set is scored behind a button (a few seconds per ten). Results are
kept in session state per checkpoint, data and photograph.

Cost control: behind a toggle, like the painting canvas; torch and the predictor load only
when it is on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from medlearn.cases import CaseStudy, get_case
from medlearn.errors import MedlearnError
from medlearn.explain.overlay import is_photo, label_colour
from ui.shared import cache, icons
from ui.shared.text import plain

VIEW_PX = 460
N_PHANTOMS = 24  # phantoms scored per set (those with exudates; about one in six has none)
PHANTOM_SEED = 7
DATA = {"idrid": "IDRiD (experts' masks)", "phantoms": "Phantoms (exact masks)"}
PEAK = (255, 255, 255)


def render(case: CaseStudy) -> None:
    """A toggle that opens the lesson (nothing heavy runs while it is off)."""
    st.subheader(f"{icons.TRUST} Do the grading network's maps land on lesions?")
    st.markdown("The grading network never saw a lesion outline: it learnt a grade per photograph. Its Grad-CAM "
                "is often shown as if it pointed at the exudates. Here it is scored against photographs whose "
                "exudates were outlined, each score beside what a map placed **by chance** would get.")
    _measured()
    key = f"extra.{case.key}.cam"
    if st.toggle("Open: score the grading network's maps", key=f"{key}.on",
                 help="Loads the best trained grading network; one photograph is explained at a time."):
        _lesson(case, key)


def measured_cam_table(rows: list[dict]) -> pd.DataFrame:
    """The saved grading-map rows of ``scripts/lesion_results.py``: one row per network and data."""
    from medlearn.results import figure_text

    def bare(f: dict) -> str:  # the column names the figure
        return figure_text({**f, "label": ""}).strip()

    out = []
    for r in rows:
        f = r.get("figures") or {}
        if r.get("kind") != "grading_cam" or not {"hit", "energy", "energy_ratio"} <= set(f):
            continue
        chance = {k: f[k]["value"] for k in ("hit_chance", "energy_chance") if k in f}
        out.append({"grading network": f"resnet18 · {r.get('grading_source')} · {r.get('grading_input_size')} px",
                    "photographs": f"{DATA.get(r.get('data'), r.get('data'))}: {r.get('n_items')}",
                    "energy / chance": bare(f["energy_ratio"]),  # the answer first: 1 = no better than chance
                    "pointing game (chance)": f"{bare(f['hit'])} ({chance.get('hit_chance', 0):.2f})",
                    "energy in lesions (chance)": f"{bare(f['energy'])} ({chance.get('energy_chance', 0):.3f})",
                    "peak on the optic disc": bare(f["on_disc"]) if "on_disc" in f else "—"})
    return pd.DataFrame(out)


def _measured() -> None:
    from ui.explore.extras.retina_lesion_figures import measured_rows

    table = measured_cam_table(measured_rows())
    if table.empty:
        return
    st.markdown("**Measured by MedLearn** (`scripts/lesion_results.py`; 95 % intervals over photographs)",
                help="The retina case's default grading networks (trained on phantoms at 96 px and on RetinaMNIST "
                     "at 32 px), each map scored on every IDRiD photograph and on hard-exudate phantoms.")
    st.table(table, hide_index=True, border="horizontal")  # wraps its long cells
    rows = [r for r in measured_rows() if r.get("kind") == "grading_cam" and r.get("verdict")]
    landed = [r for r in rows if r["verdict"].startswith("The maps land")]
    st.caption(f"In {len(landed)} of {len(rows)} rows the maps land on exudates more often than chance"
               + ("." if landed else ": these networks' heat maps are no evidence that they look at the lesions."))


def _lesson(case: CaseStudy, key: str) -> None:
    from ui.predict.predict_panel import model_picker

    grading = get_case(case.parent or "retina")
    model = model_picker(grading, f"{key}.grading")
    if model is None:
        st.info(f"No trained grading network yet: train one in this page's {grading.study or 'Grading'} study "
                "(Train section), then come back.", icon=icons.INFO)
        return
    available = [name for name in DATA if name == "phantoms" or _available(name)]
    data = st.segmented_control("Photographs", available, format_func=DATA.get, key=f"{key}.data",
                                default=available[0]) or available[0]
    if "idrid" not in available:
        st.caption("IDRiD is not on this machine (see the Data page); the phantoms' exact masks stand in.")
    try:
        items, discs = _items(data, case.key)
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    ids = [_name(item, i) for i, item in enumerate(items)]
    chosen = st.selectbox("Photograph", range(len(items)), format_func=lambda i: ids[i], key=f"{key}.{data}.pick")
    stamp = _stamp(model.checkpoint)
    try:
        with st.spinner("Explaining the grade…"):
            one = cache.session_memo(f"{key}.one", (data, ids[chosen], model.checkpoint, stamp),
                                     lambda: _score([items[chosen]], model.checkpoint, discs, keep_maps=True))
    except MedlearnError as exc:
        st.error(plain(str(exc)), icon=icons.ERROR)
        return
    _show_one(items[chosen], one, grading)
    st.markdown(f"#### Every photograph ({len(items)})")
    kept = st.session_state.get(f"{key}.all")
    signature = (data, model.checkpoint, stamp, len(items))
    if kept is None or kept[0] != signature:
        slot = st.empty()
        if not slot.button(f"Score all {len(items)} photographs", key=f"{key}.run", icon=icons.NEXT):
            return
        try:
            with st.spinner(f"Explaining {len(items)} photographs…"):
                kept = (signature, _score(items, model.checkpoint, discs, keep_maps=False))
        except MedlearnError as exc:
            st.error(plain(str(exc)), icon=icons.ERROR)
            return
        slot.empty()  # done: the button gives way to the result
        st.session_state[f"{key}.all"] = kept
    _show_all(kept[1], data)


def _available(name: str) -> bool:
    from medlearn.data.sources import get_source

    return get_source(name).is_available()


def _items(data: str, case_key: str) -> tuple[list, dict]:
    """The photographs with lesions to score, and their optic disc masks by id (IDRiD only)."""
    if data == "idrid":
        from medlearn.data.sources import get_source

        items = [s for s in cache.load_samples("idrid", case_key, 96) if s.mask is not None and s.mask.any()]
        source = get_source("idrid")
        discs = {s.id: d for s in items if (d := source.optic_disc(s)) is not None}
        return items, discs
    phantoms = cache.phantoms(case_key, PHANTOM_SEED, 0.5, (), n=N_PHANTOMS)
    return [p for p in phantoms if p.mask is not None and p.mask.any()], {}


def _name(item, index: int) -> str:
    return str(getattr(item, "id", "") or f"phantom {PHANTOM_SEED}/{index}")


def _stamp(checkpoint: str) -> int:
    path = Path(checkpoint)
    return path.stat().st_mtime_ns if path.exists() else 0


def _score(items: list, checkpoint: str, discs: dict, keep_maps: bool):
    from medlearn.trust.lesion_cam import score_grading_maps
    from ui.predict.predict_panel import predictor

    named = [_Named(_name(item, i), item) for i, item in enumerate(items)]
    return score_grading_maps(named, checkpoint, discs=discs, predictor=predictor(), keep_maps=keep_maps,
                              resamples=1000 if len(items) > 1 else 0)


class _Named:
    """An item seen with a stable id (phantoms have none), so rows, maps and discs line up."""

    def __init__(self, name: str, item):
        self.id, self.image, self.mask = name, item.image, item.mask
        self.meta = getattr(item, "meta", None) or {}


def picture(item, cam: np.ndarray, row: dict, px: int = VIEW_PX) -> tuple[np.ndarray, np.ndarray]:
    """``(photograph with lesion outlines, Grad-CAM overlay with outlines, peak and tolerance circle)``
    at display size (outlines drawn after shrinking, so a lesion of a few pixels stays visible)."""
    from skimage.draw import circle_perimeter, disk
    from skimage.transform import resize

    from medlearn.explain import heatmap_overlay, mask_overlay
    from ui.predict.explain_view import to_display

    image = item.image
    shape = image.spatial_shape
    base = to_display(np.asarray(image.pixels if image.is_rgb else np.stack([image.pixels] * 3, -1), np.uint8),
                      image.spacing, px)
    small = base.shape[:2]
    lesion = resize((np.asarray(item.mask) != 0).astype(np.float32), small, order=1, anti_aliasing=True) > 0.1
    outlined = mask_overlay(base, lesion.astype(np.uint8), mode="outline")
    heat = mask_overlay(to_display(heatmap_overlay(image, cam, "viridis", 0.5), image.spacing, px),
                        lesion.astype(np.uint8), mode="outline")
    scale = small[0] / shape[0]
    y, x = (int(round(v * scale)) for v in row["peak"])
    radius = max(2, int(round(row["tolerance_px"] * scale)))
    rr, cc = circle_perimeter(y, x, radius, shape=small)
    heat[rr, cc] = PEAK
    rr, cc = disk((y, x), max(2, px // 120), shape=small)
    heat[rr, cc] = PEAK
    return outlined, heat


def _show_one(item, result, grading: CaseStudy) -> None:
    row = result.rows[0]
    cam = next(iter(result.maps.values()))
    plain_pic, heat_pic = picture(item, cam, row)
    a, b = st.columns(2, gap="medium")
    a.image(plain_pic, width="stretch",
            caption=f"The photograph; hard exudates outlined in {label_colour(1, is_photo(plain_pic))[0]}.")
    b.image(heat_pic, width="stretch",
            caption=f"Grad-CAM of '{row['explained']}' (viridis: yellow = strongest); white dot = the map's peak, "
                    "white circle = the pointing-game tolerance.")
    c = st.columns(4)
    c[0].metric("Pointing game", "hit" if row["hit"] else "miss",
                f"chance {row['hit_chance']:.0%}", delta_color="off", delta_arrow="off",
                help="Is the map's peak on a lesion or within the circle's radius of one? Chance: the share of "
                     "the field of view within that radius of a lesion.")
    c[1].metric("Energy in lesions", f"{row['energy']:.1%}", f"chance {row['energy_chance']:.1%}",
                delta_color="off", delta_arrow="off", help="The share of the map's mass inside the field of view that falls on "
                                        "lesion pixels; a flat map scores the lesions' share of the field.")
    c[2].metric("Energy / chance", f"{row['energy_ratio']:.2f}x",
                help="Above 1: the map is heavier on lesions than a flat map would be.")
    on_disc = row.get("on_disc")
    c[3].metric("Peak on disc", "—" if on_disc is None else ("yes" if on_disc else "no"),
                help="The optic disc is bright and yellow like an exudate (IDRiD gives its mask).")
    st.caption(plain(f"{grading.title} network {result.arch}: predicted {row['predicted']}; the map explains "
                     f"{row['explained']} ({row['probability']:.0%}), its most probable grade other than No DR "
                     "(every photograph here has exudates: moderate NPDR or worse by the clinical scale)."))


def figures_table(result) -> pd.DataFrame:
    """The summary figures with their 95 % intervals and n."""
    def fmt(f) -> tuple[str, str]:
        ratio = f.name == "energy_ratio"
        value = f"{f.value:.2f}x" if ratio else f"{f.value:+.1%}" if f.name == "hit_gain" else f"{f.value:.1%}"
        if not np.isfinite(f.low):
            return value, "—"
        return value, (f"{f.low:.2f}-{f.high:.2f}x" if ratio else f"{f.low:.1%} to {f.high:.1%}")
    rows = []
    for f in result.figures:
        value, interval = fmt(f)
        rows.append({"figure": f.label, "value": value, "95 % interval": interval, "n": f.n})
    return pd.DataFrame(rows)


def _show_all(result, data: str) -> None:
    box = st.success if result.verdict.startswith("The maps land") else st.warning
    box(plain(result.verdict), icon=icons.RIGHT if box is st.success else icons.WARNING)
    st.dataframe(figures_table(result), hide_index=True, width="stretch")
    rows = pd.DataFrame([{"photograph": r["id"], "predicted": r["predicted"], "explained": r["explained"],
                          "hit": r["hit"], "chance of a hit": round(r["hit_chance"], 3),
                          "energy in lesions": round(r["energy"], 4), "chance energy": round(r["energy_chance"], 4),
                          **({"peak on disc": r["on_disc"]} if r.get("on_disc") is not None else {})}
                         for r in result.rows])
    with st.expander(f"Per photograph ({len(rows)})"):
        st.dataframe(rows, hide_index=True, width="stretch")
    if result.skipped:
        st.caption(plain(f"{len(result.skipped)} left out: " + "; ".join(f"{i} ({why})" for i, why in result.skipped[:5])))
    where = ("IDRiD: each photograph counts as its own patient (IDRiD names none)" if data == "idrid"
             else "phantoms: exact masks of drawn exudates")
    st.caption(plain(f"Intervals: bootstrap over photographs ({where}). A network trained on small pictures "
                     "(RetinaMNIST's 28-32 px, or 96 px phantoms) gives a map a few cells across: it can point at "
                     "a region at best, never at one exudate."))
