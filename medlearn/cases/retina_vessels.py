"""A further study of the retina page: retinal vessel segmentation, U-Net against FCN.

Published figures are the review's DRIVE results (Cai et al. 2020 quoting each paper); the
measured ones are on CHASE_DB1, a harder set (see ``summary`` and ``teaching_points``).
Every vessel figure is computed inside the field of view (``medlearn.metrics.fov_scores``).
"""

from medlearn.preprocess import Intensity
from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case

REVIEW = "Cai et al. 2020"

CASE = register_case(
    CaseStudy(
        key="retina_vessels",
        parent="retina",
        study="Vessels",
        title="Retinal vessels",
        icon=":material/ophthalmology:",
        modality="OP",
        question="Which pixels of this fundus photograph are blood vessels?",
        summary=(
            "Vessel calibre, tortuosity and new vessels tell diabetic and hypertensive retinopathy "
            "apart, so the review's authors segmented vessels pixel by pixel: on DRIVE, Liskowski's "
            "network reached an AUC above 0.99 and an accuracy above 0.97, Zhu's accuracy 0.961 with "
            "sensitivity 0.714 and specificity 0.987. Every figure is counted inside the field of "
            "view (the camera's bright disc): the black corners are easy background and would inflate "
            "specificity and accuracy. Vessels are a few pixels wide, so the networks train on "
            "128 px tiles of the full-resolution photograph and answer it whole at that resolution. "
            "Here they meet CHASE_DB1, which is harder than DRIVE: children's eyes photographed "
            "around the optic disc, with uneven illumination and a non-uniform, poorly contrasted "
            "background, a bright central reflex along the arteries that splits a vessel in two, "
            "fewer and larger photographs, and (in this copy) only the second observer's masks."
        ),
        task=Task(kind="segmentation", spatial_dims=2, class_names=("background", "vessel"), in_channels=3),
        sources=("phantoms", "chase_db1", "folder"),
        # 512 px phantoms (the phantom's own size: main veins 6 px wide) read in 128 px tiles
        recipe=Recipe(architectures=("unet", "fcn"), input_size=512, tile=128, epochs=6, batch_size=8,
                      train_cases=32, val_cases=8, learning_rate=3e-3),
        # CHASE_DB1: the photograph at its own height (999 x 960 -> 960 x 960), 128 px tiles; all
        # ten photographs of the mirror (five children), two held out (one child) by default
        real_recipes=(("chase_db1", dict(input_size=960, epochs=12, train_cases=10, val_cases=2)),),
        intensity=Intensity("unit"),  # photographs: 0-255 -> 0-1
        metrics=("dice", "iou"),
        published=(
            PublishedResult("Liskowski & Krawiec 2016 (CNN)", "AUC", 0.99, "DRIVE (> 0.99)", REVIEW),
            PublishedResult("Liskowski & Krawiec 2016 (CNN)", "Accuracy", 0.97, "DRIVE (> 0.97)",
                            REVIEW),
            PublishedResult("Zhu et al. 2017 (ELM)", "Accuracy", 0.9607, "DRIVE", REVIEW),
            PublishedResult("Zhu et al. 2017 (ELM)", "Sensitivity", 0.714, "DRIVE", REVIEW),
            PublishedResult("Zhu et al. 2017 (ELM)", "Specificity", 0.9868, "DRIVE", REVIEW),
            PublishedResult("Dasgupta & Singh 2017 (FCN)", "Accuracy", 0.9533, "DRIVE", REVIEW),
            PublishedResult("Dasgupta & Singh 2017 (FCN)", "AUC", 0.974, "DRIVE", REVIEW),
        ),
        citations=(
            "Cai L., Gao J., Zhao D. A review of the application of deep learning in medical image "
            "classification and segmentation. Ann Transl Med 8(11):713 (2020).",
            "Liskowski P., Krawiec K. Segmenting retinal blood vessels with deep neural networks. "
            "IEEE Trans Med Imaging 35(11):2369-2380 (2016).",
            "Zhu C. et al. Retinal vessel segmentation in colour fundus images using Extreme Learning "
            "Machine. Comput Med Imaging Graph 55:68-77 (2017).",
            "Dasgupta A., Singh S. A fully convolutional neural network based structured prediction approach "
            "towards the retinal vessel segmentation. IEEE ISBI (2017).",
            "Fraz M.M. et al. An ensemble classification-based approach applied to retinal blood vessel "
            "segmentation. IEEE Trans Biomed Eng 59(9):2538-2548 (2012) (CHASE_DB1; CC BY 4.0).",
            "Staal J. et al. Ridge-based vessel segmentation in color images of the retina. IEEE Trans Med "
            "Imaging 23(4):501-509 (2004) (DRIVE).",
        ),
        teaching_points=(
            "Vessels cover about a tenth of the field of view: calling every pixel background already scores "
            "an accuracy near 0.90, so read sensitivity, AUC and Dice, not accuracy alone.",
            "DRIVE: 40 adult screening photographs (565 x 584 px, 45°), with FOV masks. CHASE_DB1: 28 "
            "photographs of 14 children (999 x 960 px, 30°, disc-centred), no FOV masks: the field is "
            "derived.",
            "CHASE is harder: uneven light, a darker non-uniform background, central reflexes on the "
            "arteries, wide vessels beside fine capillaries, and two observers who disagree on thin vessels.",
            "Both eyes of a child share genes and camera settings: they stay on one side of every split.",
        ),
    )
)
