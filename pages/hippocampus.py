"""Case page: Hippocampus (MRI), with the hippocampal volume."""

from ui.shared.case_page import render_case_page
from ui.explore.extras import hippocampus_volume

render_case_page("hippocampus", hippocampus_volume.render)
