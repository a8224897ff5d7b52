"""Writes the generated seed inputs of the fuzz targets (run from fuzz/: python3 seeds/make_seeds.py).

The other seeds are copies of the repository's test fixtures (see fuzz/README.md). Needs numpy,
safetensors, onnx and pillow. Every file is a few hundred bytes.
"""

import io
import os
import json
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

rng = np.random.default_rng(0)


def safetensors_bytes(tensors, metadata):
    """A safetensors file, written by hand so the seeds need nothing but numpy."""
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        raw = array.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def w(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# Weights files that describe their model: a Sequential ("arch") and a graph ("graph").
open("seeds/weights/arch_conv.safetensors", "wb").write(safetensors_bytes(
    {"0.weight": w(2, 1, 3, 3), "0.bias": w(2), "3.weight": w(3, 8), "3.bias": w(3)},
    {"arch": "conv2d(1,2,3), relu, flatten, linear(8,3)"}))
open("seeds/weights/arch_block.safetensors", "wb").write(safetensors_bytes(
    {"0.weight": w(4, 4), "0.bias": w(4), "1.0.weight": w(4, 4), "1.0.bias": w(4)},
    {"arch": "linear(4,4), residual(linear(4,4)), relu"}))
open("seeds/weights/graph.safetensors", "wb").write(safetensors_bytes(
    {"fc.weight": w(2, 4), "fc.bias": w(2)},
    {"graph": 'input "input"\nmodule "fc" ("input") linear(4,2)\noutput "fc"'}))
open("seeds/tensor_file/input.safetensors", "wb").write(safetensors_bytes(
    {"input": w(1, 1, 4, 4)}, {"note": "an explain input"}))


def model(name, nodes, inits, in_dims, out="y"):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_dims)],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(a, n) for n, a in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, f"seeds/onnx_bytes/{name}.onnx")


model("conv_gemm", [
    helper.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv", pads=[1, 1, 1, 1], strides=[2, 2]),
    helper.make_node("Relu", ["c"], ["r"], name="relu"),
    helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Flatten", ["p"], ["f"], name="flat"),
    helper.make_node("Gemm", ["f", "gw", "gb"], ["y"], name="fc", transB=1),
], {"cw": w(2, 3, 3, 3), "cb": w(2), "gw": w(4, 8), "gb": w(4)}, [1, 3, 8, 8])

model("shape_arith", [
    helper.make_node("Shape", ["x"], ["s"], name="shape"),
    helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
    helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsq"),
    helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat", axis=0),
    helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
    helper.make_node("MatMul", ["flat", "mw"], ["mm"], name="mm"),
    helper.make_node("Add", ["mm", "mb"], ["y"], name="add"),
], {"zero": np.array(0, np.int64), "axes": np.array([0], np.int64), "minus1": np.array([-1], np.int64),
    "mw": w(192, 3), "mb": w(3)}, [1, 3, 8, 8])

model("bn_pool", [
    helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["bn"], name="bn"),
    helper.make_node("Sigmoid", ["bn"], ["s"], name="sig"),
    helper.make_node("Mul", ["bn", "s"], ["silu"], name="mul"),
    helper.make_node("GlobalAveragePool", ["silu"], ["gap"], name="gap"),
    helper.make_node("Flatten", ["gap"], ["f"], name="flat"),
    helper.make_node("Softmax", ["f"], ["y"], name="softmax", axis=1),
], {"g": w(3), "b": w(3), "m": w(3), "v": np.abs(w(3)) + 0.5}, [1, 3, 8, 8])


def image(name, prefix, img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    open(f"seeds/image/{name}", "wb").write(bytes([prefix]) + buf.getvalue())


pixels = (rng.random((6, 5, 3)) * 255).astype(np.uint8)
rgb = Image.fromarray(pixels, "RGB")
# The first byte picks the extension (fuzz_targets/image.rs): 0 png, 1 jpg, 3 ppm, 4 pgm, 5 bmp;
# its high bit adds --normalize.
image("rgb.png", 0x00, rgb, "PNG")
image("gray.png", 0x80, rgb.convert("L"), "PNG")
image("rgba.png", 0x00, rgb.convert("RGBA"), "PNG")
image("palette.png", 0x00, rgb.convert("P"), "PNG")
image("gray16.png", 0x00, Image.fromarray(pixels[..., 0].astype(np.uint16) * 257), "PNG")
image("rgb.jpg", 0x01, rgb, "JPEG", quality=90)
image("rgb.ppm", 0x03, rgb, "PPM")
image("gray.pgm", 0x84, rgb.convert("L"), "PPM")
image("rgb.bmp", 0x05, rgb, "BMP")


def labels(name, text, target, outputs):
    """A `labels` input: the file's text, NUL, the --target value, NUL, the class count."""
    open(f"seeds/labels/{name}", "wb").write(text.encode() + b"\0" + target.encode() + b"\0" + bytes([outputs]))


os.makedirs("seeds/labels", exist_ok=True)
labels("names", "tench\ngoldfish\ngreat white shark\ntiger shark\n", "goldfish", 4)
labels("crlf", "cat\r\ndog\r\n\r\n", "Dog", 2)
labels("top_k", "a\nb\nc\nd\ne\n", "top-3", 5)
labels("list", "zero\none\ntwo\nthree\n", "1,three", 4)
labels("blank_inside", "a\n\nb\n", "predicted", 2)
labels("unicode", "chat\nchien\u00e9\n\u732b\n", "\u732b", 3)
