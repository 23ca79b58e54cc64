"""Case page: Breast ultrasound, with ACE against CLAHE."""

from ui.shared.case_page import render_case_page
from ui.explore.extras import breast_ace

render_case_page("breast", breast_ace.render)
