"""Run a model exported by ``alexnet-gui export`` without alexnet-gui: Pillow, numpy and a runtime.

    python run_exported.py MODEL.onnx IMAGE              # ONNX Runtime (pip install onnxruntime)
    python run_exported.py MODEL.xml IMAGE               # OpenVINO (pip install openvino)
    python run_exported.py MODEL.onnx IMAGE --runtime openvino

The class names and the pre-processing are read from the file's metadata (ONNX metadata_props,
or the IR's rt_info under "alexnet_gui"), so the model and its pre-processing cannot drift apart.
Prints the top 5 as "rank probability label" lines, or JSON with --json.
"""

import argparse
import json

import numpy as np
from PIL import Image, ImageOps


def read_onnxruntime(path):
    """A function from a batch to logits, and the metadata, through ONNX Runtime."""
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    return (lambda batch: session.run([meta["output"]], {meta["input"]: batch})[0]), meta


def read_openvino(path):
    """The same through OpenVINO (it reads both .xml and .onnx)."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(path)
    if model.has_rt_info(["alexnet_gui"]):  # an IR: the metadata is in rt_info
        keys = model.get_rt_info()["alexnet_gui"].keys()
        meta = {key: model.get_rt_info(["alexnet_gui", key]).astype(str) for key in keys}
    else:  # an ONNX file read by OpenVINO: ask ONNX for its metadata_props
        import onnx

        proto = onnx.load(path, load_external_data=False)
        meta = {entry.key: entry.value for entry in proto.metadata_props}
    # fp32 maths (on CPUs with bf16 units OpenVINO would otherwise use bf16)
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return (lambda batch: compiled(batch)[0]), meta


def preprocess(image, pre):
    """The recipe in the metadata: RGB, resize the shorter side, center crop, scale, normalise."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    size = pre["resize_size"]
    new_long = int(size * long / short)
    new_size = (size, new_long) if width <= height else (new_long, size)
    resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
                "nearest": Image.NEAREST}[pre["interpolation"]]
    image = image.resize(new_size, resample)
    crop = pre["crop_size"]
    left = round((image.width - crop) / 2)  # as torchvision's center_crop
    top = round((image.height - crop) / 2)
    image = image.crop((left, top, left + crop, top + crop))
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    pixels = (pixels - np.array(pre["mean"], np.float32)) / np.array(pre["std"], np.float32)
    return pixels.transpose(2, 0, 1)[np.newaxis].astype(np.float32)  # 1 x 3 x H x W


def top5(model_path, image_path, runtime="auto"):
    if runtime == "auto":
        runtime = "openvino" if model_path.endswith(".xml") else "onnxruntime"
    run, meta = (read_openvino if runtime == "openvino" else read_onnxruntime)(model_path)
    names = json.loads(meta["class_names"])
    pre = json.loads(meta["preprocessing"])
    logits = run(preprocess(Image.open(image_path), pre))[0].astype(np.float64)
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    best = np.argsort(-probabilities)[:5]
    return [{"rank": rank + 1, "index": int(i), "label": names[i],
             "probability": float(probabilities[i])} for rank, i in enumerate(best)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="an exported .onnx or .xml file")
    parser.add_argument("image")
    parser.add_argument("--runtime", choices=["auto", "onnxruntime", "openvino"], default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    answers = top5(args.model, args.image, args.runtime)
    if args.json:
        print(json.dumps(answers, indent=2))
    else:
        for answer in answers:
            print(f"{answer['rank']}  {answer['probability']:7.2%}  {answer['label']}")


if __name__ == "__main__":
    main()
