"""Case 5: left ventricle on short-axis cardiac MRI: U-Net against GNNI U-Net."""

from medlearn.preprocess import Intensity
from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case

CASE = register_case(
    CaseStudy(
        key="heart",
        title="Left ventricle (cardiac MRI)",
        icon=":material/cardiology:",
        modality="MR",
        question="Where are the LV cavity and myocardium, and what is the ejection fraction?",
        summary=(
            "Segmenting the left ventricle in every short-axis slice at end-diastole and "
            "end-systole gives its volumes, the ejection fraction and the myocardial mass. "
            "The review's authors modified U-Net with group normalisation in each "
            "convolution block and nearest-neighbour upsampling (GNNI U-Net), reaching Dice "
            "0.937 on Sunnybrook and 0.957 on LVSC."
        ),
        task=Task(kind="segmentation", spatial_dims=2, class_names=("background", "LV cavity", "myocardium")),
        sources=("phantoms", "sunnybrook", "folder"),
        recipe=Recipe(architectures=("unet", "gnni_unet"), input_size=128, epochs=12, batch_size=4,
                      learning_rate=3e-3),
        # Sunnybrook: 256 px frames whose LV fills a few percent of the field: the central half
        # of the field (all LVs of the set lie within 0.44-0.55 of it) at its own 128 px, 40 epochs
        # (held-out patient: GNNI U-Net cavity Dice 0.89, myocardium 0.71; U-Net 0.82 / 0.59)
        real_recipes=(("sunnybrook", dict(crop=0.5, input_size=128, epochs=40, learning_rate=1e-3)),),
        # capped percentiles: a few very bright voxels cannot stretch the window
        intensity=Intensity("percentile", 0.5, 99.5, cap_iqr=3.0, per_slice=True),
        metrics=("dice", "iou", "hd95"),
        measurements=("edv_ml", "esv_ml", "stroke_volume_ml", "ef_percent", "myocardial_mass_g"),
        published=(
            PublishedResult("GNNI U-Net", "Dice", 0.937, "Sunnybrook", "Cai et al. 2020"),
            PublishedResult("GNNI U-Net", "Dice", 0.957, "LVSC", "Cai et al. 2020"),
            PublishedResult("normal (group mean)", "EF %", 62.9, "Sunnybrook", "Radau et al. 2009"),
            PublishedResult("HF with infarction (group mean)", "EF %", 32.0, "Sunnybrook", "Radau et al. 2009"),
        ),
        citations=(
            "Cai L., Gao J., Zhao D. Ann Transl Med 8(11):713 (2020).",
            "Radau P. et al. Evaluation framework for algorithms segmenting short axis cardiac MRI. "
            "MIDAS Journal (2009), hdl.handle.net/10380/3070; CC0 1.0.",
            "Wu Y., He K. Group normalization. ECCV (2018).",
        ),
        teaching_points=(
            "Simpson's method: volume = Σ slice area × slice spacing.",
            "EF = (EDV − ESV) / EDV; myocardial mass = (epicardial − endocardial volume) × 1.05 g/ml.",
        ),
    )
)
