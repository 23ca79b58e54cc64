"""Case 6: gastric cancer segmentation on H&E pathology tiles."""

from medlearn.preprocess import Intensity
from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case

CASE = register_case(
    CaseStudy(
        key="gastric",
        title="Gastric cancer pathology (H&E)",
        icon=":material/biotech:",
        modality="SM",
        question="Which regions of this H&E tile are cancer?",
        summary=(
            "The review's authors built a multi-input fusion network (MIFNet) that feeds the "
            "tile at several magnifications into the encoder: low magnification gives "
            "context, high gives nuclear detail. It reached Dice 81.9% on gastric cancer "
            "slides, against U-Net 67.7%, SegNet 63.9% and PSPNet 60.5%."
        ),
        task=Task(kind="segmentation", spatial_dims=2, class_names=("background", "tumour"), in_channels=3),
        sources=("phantoms", "skimage_samples", "pathmnist", "gashissdb", "folder"),
        recipe=Recipe(architectures=("unet", "segnet", "pspnet", "mifnet"), input_size=64, epochs=8, batch_size=8),
        intensity=Intensity("unit"),  # photographs and slides: 0-255 -> 0-1
        metrics=("dice", "iou", "hd95"),
        published=(
            PublishedResult("MIFNet", "Dice", 0.8187, "gastric H&E (x40)", "Cai et al. 2020"),
            PublishedResult("U-Net", "Dice", 0.6773, "gastric H&E (x40)", "Cai et al. 2020"),
            PublishedResult("SegNet", "Dice", 0.6389, "gastric H&E (x40)", "Cai et al. 2020"),
            PublishedResult("PSPNet", "Dice", 0.6051, "gastric H&E (x40)", "Cai et al. 2020"),
        ),
        citations=(
            "Cai L., Gao J., Zhao D. Ann Transl Med 8(11):713 (2020).",
            "Hu W. et al. GasHisSDB: a new gastric histopathology image dataset. Comput Biol Med 142:105207 (2022).",
            "Kather J.N. et al. NCT-CRC-HE-100K (PathMNIST's source; colorectal, a stand-in here).",
        ),
        teaching_points=(
            "Haematoxylin stains nuclei blue-purple; eosin stains stroma pink.",
            "Cancer: irregular fused glands, crowded enlarged dark pleomorphic nuclei.",
        ),
    )
)
