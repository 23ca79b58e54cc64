"""Case page: Diabetic retinopathy, with the lesion-painting canvas."""

from ui.shared.case_page import render_case_page
from ui.explore.extras import retina_canvas, retina_lesion_cam, retina_lesion_figures, retina_vessels

render_case_page("retina", retina_canvas.render, study_extras={
    "retina_vessels": (retina_vessels.render,),
    "retina_lesions": (retina_lesion_figures.render, retina_lesion_cam.render),
})
