"""Case page: Diabetic retinopathy, with the lesion-painting canvas."""

from ui.case_page import render_case_page
from ui.extras import retina_canvas

render_case_page("retina", retina_canvas.render)
