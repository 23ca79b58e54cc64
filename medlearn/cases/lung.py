"""Case 3: lung nodules on CT, deep CNN against a classical feature-based classifier."""

from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case

CASE = register_case(
    CaseStudy(
        key="lung",
        title="Lung nodules (CT)",
        study="Malignancy",  # its page's study picker: benign or malignant, then the further study (detection)
        icon=":material/pulmonology:",
        modality="CT",
        question="Is this lung nodule likely benign or malignant?",
        summary=(
            "Deep networks raised nodule detection well above traditional machine learning, "
            "but they need large, well-annotated sets, and going deeper adds little. On the "
            "small NoduleMNIST3D benchmark a classical model on hand-crafted features "
            "(auto-sklearn) even beats a 3D ResNet-18. Here a CNN races a classical "
            "features + classifier baseline on the same split, and a 2D slice model races a "
            "3D cube model."
        ),
        task=Task(
            kind="classification",
            spatial_dims=3,
            class_names=("benign", "malignant"),
            model_dims=(2, 3),
        ),
        sources=("phantoms", "lidc_crops", "pydicom_samples", "nodulemnist3d", "folder"),
        recipe=Recipe(architectures=("resnet18", "resnet3d", "classic"), input_size=32, epochs=6),
        # LIDC crops are 2D slices (no 3D network); 19 of the 48 nodules are malignant (balanced batches)
        real_recipes=(("lidc_crops", dict(architectures=("resnet18", "classic"), balanced=True)),),
        metrics=("accuracy", "auc"),
        measurements=("nodule_diameter_mm", "nodule_volume_mm3"),
        published=(
            PublishedResult("ResNet-18 + 3D", "AUC", 0.863, "NoduleMNIST3D", "Yang et al. 2023"),
            PublishedResult("ResNet-18 + 3D", "Accuracy", 0.844, "NoduleMNIST3D", "Yang et al. 2023"),
            PublishedResult("auto-sklearn", "AUC", 0.914, "NoduleMNIST3D", "Yang et al. 2023"),
            PublishedResult("auto-sklearn", "Accuracy", 0.874, "NoduleMNIST3D", "Yang et al. 2023"),
        ),
        citations=(
            "Cai L., Gao J., Zhao D. Ann Transl Med 8(11):713 (2020).",
            "Armato S.G. III et al. The LIDC/IDRI database. Med Phys 38:915 (2011); TCIA, CC BY 3.0.",
            "Yang J. et al. MedMNIST v2. Sci Data 10:41 (2023).",
            "American College of Radiology. Lung-RADS v2022.",
        ),
        window_presets=(("Lung", -600.0, 1500.0), ("Mediastinum", 50.0, 350.0), ("Bone", 400.0, 1800.0)),
        teaching_points=(
            "Lung window W1500/L−600 shows parenchyma; mediastinum W350/L50 shows soft tissue.",
            "Benign calcification (central, diffuse, popcorn, laminated) argues against cancer.",
        ),
    )
)
