"""The Lesions study: registered under the retina page with its sources, generator and recipes."""

from medlearn.cases import get_case, list_cases, studies_of
from medlearn.data.phantoms import list_generators
from medlearn.data.sources import list_sources
from medlearn.train.plan import make_plan


def test_registered_as_a_study_of_retina_with_its_data():
    case = get_case("retina_lesions")
    assert case.parent == "retina" and case.study == "Lesions" and case.page_key == "retina"
    assert case in studies_of("retina") and case not in list_cases() and case in list_cases(studies=True)
    assert case.task.is_segmentation and case.task.class_names == ("background", "hard exudate")
    assert case.task.in_channels == 3 and case.modality == "OP"
    assert {"phantoms", "idrid"} <= {s.name for s in list_sources("retina_lesions")}
    assert "retina_lesions" in list_generators()
    assert [p.metric for p in case.published] == ["AUPR, hard exudates (about)"]
    assert case.published[0].source.startswith("Porwal")


def test_phantom_recipe_is_whole_pictures_and_idrid_recipe_is_tiled():
    case = get_case("retina_lesions")
    assert case.recipe.architectures == ("unet", "fcn")
    phantoms = make_plan(case, "unet", "phantoms")
    assert phantoms.tile is None and phantoms.input_size == 192
    idrid = make_plan(case, "fcn", "idrid", fold="1/3")
    assert idrid.tile == 128 and idrid.input_size == 768 and idrid.augment == "strong"
