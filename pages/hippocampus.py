"""Case page: Hippocampus (MRI), with the hippocampal volume and the review's five-way race against ours."""

from ui.shared.case_page import render_case_page
from ui.explore.extras import hippocampus_race, hippocampus_volume

render_case_page("hippocampus", hippocampus_volume.render, hippocampus_race.render)
