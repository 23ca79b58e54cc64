"""Case page: Gastric cancer pathology (H&E), with stain separation."""

from ui.shared.case_page import render_case_page
from ui.explore.extras import gastric_stain

render_case_page("gastric", gastric_stain.render)
