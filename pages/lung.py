"""Case page: Lung nodules (CT)."""

from ui.case_page import render_case_page

render_case_page("lung")
