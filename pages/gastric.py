"""Case page: Gastric cancer pathology (H&E)."""

from ui.case_page import render_case_page

render_case_page("gastric")
