"""Lung nodules, further study: finding nodules on CT slices (detection, FROC).

Shown on the lung page as the study "Detection", beside the benign/malignant race. A
detector answers with boxes and scores; it is scored as LUNA16 scores nodule detection
(Setio et al. 2017): the FROC curve, sensitivity at 1/8, 1/4, 1/2, 1, 2, 4 and 8 false
positives per image, and their mean (the competition performance metric, CPM; see
:mod:`medlearn.froc`). Truth: nodule masks, whose connected regions' bounding boxes are
the true boxes (exact for phantoms; the readers' union outline for LIDC nodules).
"""

from medlearn.cases.base import CaseStudy, PublishedResult, Recipe, Task, register_case
from medlearn.cases.lung import CASE as LUNG

CASE = register_case(
    CaseStudy(
        key="lung_detection",
        parent="lung",
        study="Detection",
        title="Nodule detection (CT slices)",
        icon=":material/pulmonology:",
        modality="CT",
        question="Where are the lung nodules on this CT slice?",
        summary=(
            "Before a nodule can be called benign or malignant it has to be found. The review names "
            "region-based detectors (Faster R-CNN) and single-shot detectors (SSD) among the deep "
            "networks that raised nodule detection above hand-crafted candidate finders. A detector "
            "draws boxes with scores; lowering the score it acts on finds more nodules and raises "
            "more false alarms. LUNA16 therefore scores detection by the FROC curve: the share of "
            "nodules found at 1/8 to 8 false positives per scan, and the mean of those seven "
            "sensitivities (CPM). Vessels seen end-on are round and bright, the classic false positive."
        ),
        task=Task(kind="detection", spatial_dims=2, class_names=("background", "nodule")),
        sources=("phantoms", "lidc_crops", "folder"),
        # Chest slices at 192 px (1.77 mm per pixel: a 7 mm nodule is 4 px across); each detector
        # trains within 3 minutes on 2 cores (docs/RESULTS.md).
        recipe=Recipe(architectures=("faster_rcnn", "ssdlite"), input_size=192, epochs=8, batch_size=8,
                      learning_rate=2e-3, train_cases=200, val_cases=60),
        # LIDC-derived slices (each LIDC nodule pasted into phantom lungs, medlearn.data.phantoms.lung_slice):
        # 54 nodules of 29 patients, split by patient, at 288 px (half the nodules are under 6 mm);
        # a small set, so more epochs and stronger augmentation.
        real_recipes=(("lidc_crops", dict(input_size=288, epochs=12, augment="strong")),),
        metrics=("cpm", "sensitivity_1fp"),
        window_presets=LUNG.window_presets,
        intensity=LUNG.intensity,
        published=(
            PublishedResult("Combined LUNA16 systems", "Sensitivity at 1 FP per scan (over)", 0.95,
                            "LUNA16 (888 CT scans of LIDC-IDRI, 3D; FPs per scan, not per slice)",
                            "Setio et al., Med Image Anal 42:1-13 (2017)"),
        ),
        citations=(
            "Setio A.A.A. et al. Validation, comparison, and combination of algorithms for automatic detection "
            "of pulmonary nodules in computed tomography images: the LUNA16 challenge. Med Image Anal 42:1-13 (2017).",
            "Ren S. et al. Faster R-CNN: towards real-time object detection with region proposal networks. "
            "NeurIPS (2015).",
            "Liu W. et al. SSD: single shot multibox detector. ECCV (2016); Sandler M. et al. MobileNetV2 "
            "(SSDlite). CVPR (2018).",
            "Armato S.G. III et al. The LIDC/IDRI database. Med Phys 38:915 (2011); TCIA, CC BY 3.0.",
            "Cai L., Gao J., Zhao D. Ann Transl Med 8(11):713 (2020).",
        ),
        teaching_points=(
            "A detector's output is a list of boxes with scores: where you cut the scores trades found "
            "nodules against false alarms (the FROC curve).",
            "A vessel running through the slice is a line; one crossing it is a round dot, easily taken "
            "for a small nodule.",
            "Sensitivity per false positive per slice is not per scan: a scan has hundreds of slices.",
        ),
    )
)
