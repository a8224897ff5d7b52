#!/usr/bin/env python3
"""Generate viz/tests/data/numpy_reference.txt: random float32 attribution maps and what the Python
originals make of them, so the Rust presets are checked against real NumPy without Python at test time.

Usage (from the repository root; needs `pip install numpy`):

    python3 viz/tools/gen_numpy_reference.py

The functions below are PAIR saliency's `VisualizeImageGrayscale` / `VisualizeImageDiverging`, the
seeds' max-channel recipe, and Captum's `_normalize_attr` (with `_cumulative_sum_threshold` and
`_normalize_scale`), copied as they are written upstream, on HWC images. Captum's warning branch is
left out and its `assert scale_factor != 0` never fires on these maps.

File format, one record per line, values separated by spaces:
    case N C H W          starts a case; the map is float32 with shape [N, C, H, W]
    input v...            the N*C*H*W map values (CHW), as decimal float32
    <method> v...         the N*H*W results of <method> (image after image), as decimal float64
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "numpy_reference.txt")
SHAPES = [(1, 3, 8, 8), (2, 3, 5, 7), (1, 1, 6, 6), (1, 3, 16, 16)]


def VisualizeImageGrayscale(image_3d, percentile=99):
    image_2d = np.sum(np.abs(image_3d), axis=2)
    vmax = np.percentile(image_2d, percentile)
    vmin = np.min(image_2d)
    return np.clip((image_2d - vmin) / (vmax - vmin), 0, 1)


def VisualizeImageDiverging(image_3d, percentile=99):
    image_2d = np.sum(image_3d, axis=2)
    span = abs(np.percentile(image_2d, percentile))
    vmin = -span
    vmax = span
    return np.clip((image_2d - vmin) / (vmax - vmin), -1, 1)


def max_channel(image_3d):
    image_2d = np.max(np.abs(image_3d), axis=2)
    return (image_2d - image_2d.min()) / (image_2d.max() - image_2d.min())


def _cumulative_sum_threshold(values, percentile):
    sorted_vals = np.sort(values.flatten())
    cum_sums = np.cumsum(sorted_vals)
    threshold_id = np.where(cum_sums >= cum_sums[-1] * 0.01 * percentile)[0][0]
    return sorted_vals[threshold_id]


def _normalize_scale(attr, scale_factor):
    assert scale_factor != 0, "Cannot normalize by scale factor = 0"
    attr_norm = attr / scale_factor
    return np.clip(attr_norm, -1, 1)


def _normalize_attr(attr, sign, outlier_perc=2, reduction_axis=None):
    attr_combined = attr
    if reduction_axis is not None:
        attr_combined = np.sum(attr, axis=reduction_axis)
    if sign == "all":
        threshold = _cumulative_sum_threshold(np.abs(attr_combined), 100.0 - outlier_perc)
    elif sign == "positive":
        attr_combined = (attr_combined > 0) * attr_combined
        threshold = _cumulative_sum_threshold(attr_combined, 100.0 - outlier_perc)
    elif sign == "negative":
        attr_combined = (attr_combined < 0) * attr_combined
        threshold = -1 * _cumulative_sum_threshold(np.abs(attr_combined), 100.0 - outlier_perc)
    elif sign == "absolute_value":
        attr_combined = np.abs(attr_combined)
        threshold = _cumulative_sum_threshold(attr_combined, 100.0 - outlier_perc)
    else:
        raise AssertionError("Visualize Sign type is not valid.")
    return _normalize_scale(attr_combined, threshold)


METHODS = {
    "pair_grayscale": VisualizeImageGrayscale,
    "pair_diverging": VisualizeImageDiverging,
    "max_channel": max_channel,
    "captum_absolute_value": lambda m: _normalize_attr(m, "absolute_value", 2, 2),
    "captum_all": lambda m: _normalize_attr(m, "all", 2, 2),
    "captum_positive": lambda m: _normalize_attr(m, "positive", 2, 2),
    "captum_negative": lambda m: _normalize_attr(m, "negative", 2, 2),
}


def values(array):
    return " ".join(repr(float(v)) for v in array.flatten())


def main():
    rng = np.random.default_rng(20170612)  # the SmoothGrad paper's arXiv date
    lines = []
    for shape in SHAPES:
        n = shape[0]
        heavy = rng.random(shape) < 0.03
        maps = (rng.uniform(-1, 1, shape) * np.where(heavy, 20.0, 1.0)).astype(np.float32)
        lines.append("case %d %d %d %d" % shape)
        lines.append("input " + values(maps))
        for name, method in METHODS.items():
            out = [method(np.transpose(maps[i], (1, 2, 0))) for i in range(n)]
            lines.append(name + " " + values(np.stack(out)))
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", os.path.normpath(OUT), "with numpy", np.__version__)


if __name__ == "__main__":
    main()
