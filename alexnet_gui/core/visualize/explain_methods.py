"""The explanation methods' names, labels and kinds: plain data, without torch.

Why a module of its own: the panel (``ui``, which never imports torch) lists the methods and
must agree with ``core.visualize.explain`` (which imports torch); both read them from here.
"""

from __future__ import annotations

METHODS: tuple[str, ...] = ("gradcam", "gradcam++", "scorecam", "layercam",
                            "guided-backprop", "guided-gradcam", "occlusion")  # fmt: skip
#: Methods that run one forward pass per channel or patch: never live on video.
SLOW_METHODS: frozenset[str] = frozenset({"scorecam", "occlusion"})
#: Methods whose map is a 3 x H x W input gradient rather than an H x W map in [0, 1].
GRADIENT_METHODS: frozenset[str] = frozenset({"guided-backprop", "guided-gradcam"})
#: Methods that read one layer's maps (the others explain from the input alone).
LAYER_METHODS: frozenset[str] = frozenset({"gradcam", "gradcam++", "scorecam", "layercam",
                                           "guided-gradcam"})  # fmt: skip
METHOD_LABELS: dict[str, str] = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "scorecam": "Score-CAM",
    "layercam": "LayerCAM",
    "guided-backprop": "Guided backpropagation",
    "guided-gradcam": "Guided Grad-CAM",
    "occlusion": "Occlusion sensitivity",
}
