"""Case 2: breast ultrasound, benign vs malignant, with adaptive contrast enhancement."""

from medlearn.preprocess import Intensity
from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case

CASE = register_case(
    CaseStudy(
        key="breast",
        title="Breast ultrasound",
        icon=":material/radiology:",
        modality="US",
        question="Is the lesion in this breast ultrasound image benign or malignant?",
        summary=(
            "In the review, an AlexNet-style network located breast nodules and called them "
            "benign or malignant with an AUC of 0.93. Raw, speckled ultrasound trained poorly; "
            "adaptive contrast enhancement (ACE) before training helped. ACE boosts each pixel's "
            "difference from its local mean by a gain that grows where local contrast is low, "
            "capped so noise is not blown up. Malignant lesions tend to be irregular, "
            "taller-than-wide, with spiculated margins and posterior shadowing; benign ones "
            "oval, parallel to the skin and circumscribed."
        ),
        task=Task(kind="classification", spatial_dims=2, class_names=("benign or normal", "malignant")),
        sources=("phantoms", "busi", "breastmnist", "folder"),
        recipe=Recipe(architectures=("alexnet", "resnet18", "classic"), input_size=96, epochs=6),
        # BUSI: 190-720 px scans whose lesions need more than 96 px; 15 epochs (held-out AUC
        # AlexNet 0.81, ResNet-18 0.86 on 19 images against 0.74 / 0.61 with the phantom recipe)
        # ResNet-18 first on BUSI: 5-fold cross-validated AUC 0.87 against AlexNet's 0.61 (docs/RESULTS.md)
        real_recipes=(("busi", dict(architectures=("resnet18", "alexnet", "classic"), input_size=128, epochs=15,
                                    balanced=True)),),
        intensity=Intensity("percentile", per_slice=True),  # a multi-frame clip: frame by frame
        metrics=("accuracy", "auc"),
        published=(
            PublishedResult("AlexNet + ACE", "AUC", 0.9325, "breast US (review)", "Cai et al. 2020"),
            PublishedResult("ResNet-18 (28 px)", "AUC", 0.901, "BreastMNIST", "Yang et al. 2023"),
            PublishedResult("ResNet-18 (28 px)", "Accuracy", 0.863, "BreastMNIST", "Yang et al. 2023"),
        ),
        citations=(
            "Cai L., Gao J., Zhao D. Ann Transl Med 8(11):713 (2020).",
            "Al-Dhabyani W. et al. Dataset of breast ultrasound images. Data in Brief 28:104863 (2020).",
            "Narendra P.M., Fitch R.C. Real-time adaptive contrast enhancement. IEEE TPAMI 3(6):655 (1981).",
            "ACR BI-RADS Atlas, 5th ed., ultrasound lexicon (2013).",
        ),
        teaching_points=(
            "ACE: out = m + G·(I − m), G = min(α·σ_global/σ_local, G_max).",
            "Compare ACE with CLAHE; train the same network on raw and enhanced images.",
        ),
    )
)
