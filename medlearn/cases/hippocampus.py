"""Case 4: hippocampus segmentation on brain MRI, 2D networks against 3D U-Net."""

from medlearn.preprocess import Intensity
from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case

CASE = register_case(
    CaseStudy(
        key="hippocampus",
        title="Hippocampus (MRI)",
        icon=":material/neurology:",
        modality="MR",
        question="Where is the hippocampus, and how large is it (a marker of Alzheimer's disease)?",
        summary=(
            "Alzheimer's diagnosis leans on hippocampal, cortical and whole-brain volumes. "
            "The review's authors compared FCN, U-Net, SegNet, 3D U-Net and Mask R-CNN by "
            "Dice, with training curves for all; 2D U-Net fell far behind 3D U-Net because "
            "MRI is volumetric and the hippocampus curves through many slices."
        ),
        task=Task(
            kind="segmentation",
            spatial_dims=3,
            class_names=("background", "anterior (head)", "posterior (body/tail)"),
            model_dims=(2, 3),
        ),
        sources=("phantoms", "msd_hippocampus", "folder"),
        # the review's five: FCN, U-Net, SegNet and Mask R-CNN on slices, 3D U-Net on volumes
        recipe=Recipe(architectures=("fcn", "unet", "segnet", "unet3d", "maskrcnn"), input_size=32, epochs=15,
                      train_cases=48, val_cases=12, batch_size=2, batch_size_2d=32, learning_rate=3e-3),
        # MSD Task04 crops (about 35 x 51 x 35 voxels): 48 px per axis keeps the long axis, 40 epochs
        # (held-out 9 volumes: 3D U-Net Dice 0.84 at 48 px against 0.82 at the phantom recipe's 32 px)
        # Mask R-CNN: 15 of those epochs (about 12 s each on 2 cores: 198-288 s wall; held-out Dice 0.813
        # [0.80, 0.82] on the 9 volumes, against 0.818 [0.81, 0.83] after 40 epochs and 9-10 minutes)
        real_recipes=(("msd_hippocampus", dict(input_size=48, epochs=40, epochs_by_arch=(("maskrcnn", 15),))),),
        # capped percentiles: a few very bright voxels cannot stretch the window
        intensity=Intensity("percentile", 0.5, 99.5, cap_iqr=3.0),
        metrics=("dice", "iou", "hd95"),
        measurements=("hippocampal_volume_mm3",),
        published=(
            PublishedResult("nnU-Net (anterior)", "Dice", 0.90, "MSD Task04", "Antonelli et al. 2022"),
            PublishedResult("nnU-Net (posterior)", "Dice", 0.89, "MSD Task04", "Antonelli et al. 2022"),
        ),
        citations=(
            "Cai L., Gao J., Zhao D. Ann Transl Med 8(11):713 (2020).",
            "Antonelli M. et al. The Medical Segmentation Decathlon. Nat Commun 13:4128 (2022); CC BY-SA 4.0.",
            "Çiçek Ö. et al. 3D U-Net. MICCAI (2016).",
        ),
        teaching_points=(
            "2D networks see one slice at a time; 3D U-Net sees the curve of the hippocampus.",
            "Hippocampal volume in mm³ = voxel count × voxel volume.",
        ),
    )
)
