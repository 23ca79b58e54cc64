"""Case page: Diabetic retinopathy."""

from ui.case_page import render_case_page

render_case_page("retina")
