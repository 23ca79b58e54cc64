"""Case page: Left ventricle (cardiac MRI), with the cine phantom and EF from the model's masks."""

from ui.shared.case_page import render_case_page
from ui.explore.cine import render_cine
from ui.explore.extras import heart_ef

render_case_page("heart", render_cine, heart_ef.render)
