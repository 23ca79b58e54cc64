"""Case page: Lung nodules (CT), with CT windows and nodule size."""

from ui.shared.case_page import render_case_page
from ui.explore.extras import lung_ct

render_case_page("lung", lung_ct.render)
