"""Diabetic retinopathy, further study: hard-exudate segmentation (IDRiD and phantoms).

Shown on the retina page as the study "Lesions". Hard exudates are tiny: the figures that
matter are Dice, sensitivity and the area under the precision-recall curve inside the
field of view (:mod:`medlearn.lesions`); the study also asks whether the grading network's
Grad-CAM lands on them (:mod:`medlearn.trust.lesion_cam`).
"""

from medlearn.preprocess import Intensity
from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case

CASE = register_case(
    CaseStudy(
        key="retina_lesions",
        parent="retina",
        study="Lesions",
        title="Hard exudates",
        icon=":material/ophthalmology:",
        modality="OP",
        question="Where are the hard exudates in this fundus photograph?",
        summary=(
            "Hard exudates are yellow deposits of lipid and protein that leak from damaged "
            "capillaries, often in rings around leaking microaneurysms; near the fovea they go "
            "with macular oedema, the commonest cause of lost sight in diabetes. They are small "
            "and scattered: in IDRiD they cover from under 0.1 % to about 7 % of the photograph, "
            "so a model that finds nothing is still 99 % 'accurate'. The IDRiD challenge therefore "
            "ranked hard-exudate segmentation by the area under the precision-recall curve "
            "(AUPR). A segmenter learns the lesions from pixel masks; a grading network never "
            "saw one. Does its Grad-CAM land on them anyway?"
        ),
        task=Task(kind="segmentation", spatial_dims=2, class_names=("background", "hard exudate"), in_channels=3),
        sources=("phantoms", "idrid", "folder"),
        # Phantoms at 192 px (exudates 1-4 px across), whole pictures; both networks within 3
        # minutes on 2 cores (docs/RESULTS.md). IDRiD photographs (read 4x smaller, 1072 x 712)
        # keep their detail at 768 px: random 128 px tiles in training, the whole 768 px photograph
        # in prediction (medlearn.tiling), where a whole-picture 192 px input would erase them.
        recipe=Recipe(architectures=("unet", "fcn"), input_size=192, epochs=10, batch_size=8, learning_rate=3e-3),
        real_recipes=(("idrid", dict(input_size=768, tile=128, epochs=20, batch_size=8, train_cases=15,
                                     val_cases=3, augment="strong")),),
        intensity=Intensity("unit"),  # photographs: 0-255 -> 0-1
        metrics=("dice", "iou", "hd95"),
        published=(
            PublishedResult("Challenge winner (ISBI 2018)", "AUPR, hard exudates (about)", 0.89,
                            "IDRiD test set (27 images, full resolution)",
                            "Porwal et al., Med Image Anal 59:101561 (2020)"),
        ),
        citations=(
            "Porwal P. et al. Indian Diabetic Retinopathy Image Dataset (IDRiD). Data 3(3):25 (2018); "
            "IEEE Dataport doi:10.21227/H25W98; CC BY 4.0.",
            "Porwal P. et al. IDRiD: Diabetic Retinopathy - Segmentation and Grading Challenge. "
            "Med Image Anal 59:101561 (2020).",
            "Selvaraju R.R. et al. Grad-CAM: visual explanations from deep networks via gradient-based "
            "localization. ICCV (2017).",
            "Zhang J. et al. Top-down neural attention by excitation backprop (the pointing game). ECCV (2016).",
            "Wang H. et al. Score-CAM (energy-based pointing game). CVPR Workshops (2020).",
        ),
        teaching_points=(
            "Exudates are a few pixels wide: shrink the whole photograph to a network's input and they "
            "vanish; train on patches and predict tile by tile at the photograph's resolution.",
            "With 99 % background, accuracy says nothing: read Dice, sensitivity and the precision-recall "
            "curve, inside the field of view.",
            "The optic disc is bright and yellow too: the classic false positive.",
            "A grading network's heat map is only evidence if it lands on lesions more often than chance.",
        ),
    )
)
