"""Case page: Left ventricle (cardiac MRI), with the cine phantom when it is available."""

from ui.case_page import render_case_page
from ui.cine import render_cine

render_case_page("heart", render_cine)
