"""Case page: Breast ultrasound."""

from ui.case_page import render_case_page

render_case_page("breast")
