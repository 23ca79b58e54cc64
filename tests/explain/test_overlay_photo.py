"""Mask colours on a colour photograph: orange vanishes on a fundus, so a colour picture gets
the palette in another order (sky blue first), and the legends name what is drawn."""

import numpy as np

from medlearn.data.image import MedImage
from medlearn.explain.overlay import OKABE_ITO, is_photo, label_colour, mask_overlay, palette_for
from ui.shared.render import legend_words


def test_a_colour_picture_gets_sky_blue_first_and_a_grey_one_orange():
    fundus = np.zeros((8, 8, 3), np.uint8)
    fundus[..., 0], fundus[..., 1] = 200, 80  # orange-red
    grey_rgb = np.full((8, 8, 3), 90, np.uint8)  # a grey image drawn in RGB is not a photograph
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 2:5] = 1
    assert is_photo(fundus) and not is_photo(grey_rgb) and not is_photo(np.zeros((8, 8)))
    assert is_photo(MedImage(fundus, modality="OP")) and not is_photo(MedImage(grey_rgb[..., 0], modality="MR"))
    on_photo = mask_overlay(fundus, mask, alpha=1.0)
    on_grey = mask_overlay(grey_rgb, mask, alpha=1.0)
    assert tuple(on_photo[3, 3]) == OKABE_ITO[1] and tuple(on_grey[3, 3]) == OKABE_ITO[0]
    assert label_colour(1, photo=True)[0] == "sky blue" and label_colour(1)[0] == "orange"
    assert palette_for(True)[0] == OKABE_ITO[1] and set(palette_for(True)) == set(OKABE_ITO)
    assert legend_words(mask, ("bg", "vessel"), photo=True) == "sky blue = vessel"
    assert legend_words(mask, ("bg", "vessel")) == "orange = vessel"
