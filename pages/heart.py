"""Case page: Left ventricle (cardiac MRI), with the cine phantom and EF from the model's masks."""

from ui.case_page import render_case_page
from ui.cine import render_cine
from ui.extras import heart_ef

render_case_page("heart", render_cine, heart_ef.render)
