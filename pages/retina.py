"""Case page: Diabetic retinopathy, with the lesion-painting canvas."""

from ui.shared.case_page import render_case_page
from ui.explore.extras import retina_canvas

render_case_page("retina", retina_canvas.render)
