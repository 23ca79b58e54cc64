"""Case 1: diabetic retinopathy grading on colour fundus photographs."""

from medlearn.preprocess import Intensity
from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case

CASE = register_case(
    CaseStudy(
        key="retina",
        study="Grading",  # its page's study picker: grading, then the further studies (vessels, lesions)
        title="Diabetic retinopathy",
        icon=":material/ophthalmology:",
        modality="OP",
        question="How severe is the diabetic retinopathy in this fundus photograph (grade 0-4)?",
        summary=(
            "Labelled fundus sets are small, so the review's authors start from networks "
            "pretrained on natural images (CaffeNet, GoogLeNet, VGG19) and fine-tune them: "
            "transfer learning beats training from scratch when images are few. The grade "
            "is ordinal, so a near miss (grade 2 for 3) counts less than a far one; "
            "quadratic-weighted kappa measures that. A trustworthy model's Grad-CAM should "
            "land on the lesions: microaneurysms, haemorrhages, exudates, new vessels."
        ),
        task=Task(
            kind="classification",
            spatial_dims=2,
            class_names=("No DR", "Mild NPDR", "Moderate NPDR", "Severe NPDR", "Proliferative DR"),
            in_channels=3,
            ordinal=True,
        ),
        sources=("phantoms", "skimage_samples", "retinamnist", "folder"),
        recipe=Recipe(architectures=("resnet18", "alexnet"), input_size=96, epochs=6, train_cases=300, learning_rate=3e-3),
        # RetinaMNIST: 28 px photographs; the official 1,080 training and 120 validation images at 32 px
        real_recipes=(("retinamnist", dict(input_size=32, epochs=10, train_cases=1080, val_cases=120)),),
        intensity=Intensity("unit"),  # photographs and slides: 0-255 -> 0-1
        metrics=("accuracy", "kappa", "auc"),
        published=(
            PublishedResult("ResNet-18 (28 px)", "AUC", 0.717, "RetinaMNIST", "Yang et al., Sci Data 10:41 (2023)"),
            PublishedResult("ResNet-18 (28 px)", "Accuracy", 0.524, "RetinaMNIST", "Yang et al., Sci Data 10:41 (2023)"),
        ),
        citations=(
            "Cai L., Gao J., Zhao D. A review of the application of deep learning in medical image "
            "classification and segmentation. Ann Transl Med 8(11):713 (2020).",
            "Yang J. et al. MedMNIST v2. Sci Data 10:41 (2023); RetinaMNIST from DeepDRiD (CC BY 4.0).",
            "Wilkinson C.P. et al. International clinical diabetic retinopathy severity scales. "
            "Ophthalmology 110:1677 (2003).",
        ),
        teaching_points=(
            "Mild NPDR = microaneurysms only; moderate adds haemorrhages, hard exudates, cotton-wool spots.",
            "Severe NPDR follows the 4-2-1 rule; proliferative DR means new vessels.",
            "Pretrained weights help most when labelled images are few: Train's transfer-learning preset "
            "trains one network on one split from scratch, from ImageNet and MedLearn-pretrained to test it.",
        ),
    )
)
