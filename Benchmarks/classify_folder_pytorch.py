"""What `digits classify FOLDER` does, written the usual Python way: Pillow decodes each PNG, numpy
normalises it MNIST-style, and PyTorch runs the same network with the same weights (read from our
model file). Decoding and normalising use every core (a process pool), the network PyTorch's own
threads, as `digits classify` uses every core for both.

The preprocessing is the core of ours, step for step: gray (Pillow's luminance), ink made white on
black (judged from the border), an Otsu threshold for the ink, the bounding box of the ink, that box
scaled so its longer side is 20 px (area averaging), centred by its centre of mass in 28×28, then
MNIST's mean and deviation. Ours also flattens uneven light, drops specks and page edges and
normalises stroke width (see apps/Digits/DigitsKit/Normalization), so this script does less work
per image than the tool it is compared with.

Usage: classify_folder_pytorch.py MODEL.safetensors FOLDER [--threads N]
Prints one line per file ("path<TAB>digit"), then the accuracy when the file names carry labels
(<index>-<label>-<style>.png, as make-digit-images --flat writes them), on stderr.
"""
import json
import os
import struct
import sys
from multiprocessing import Pool

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file


def build_network(path):
    with open(path, "rb") as handle:
        header = json.loads(handle.read(struct.unpack("<Q", handle.read(8))[0]))
    architecture = json.loads(header["__metadata__"]["architecture"])
    layers, shape = [], list(architecture["inputShape"])
    for spec in architecture["layers"]:
        kind = spec["type"]
        if kind == "conv2d":
            layers.append(torch.nn.Conv2d(spec["inputChannels"], spec["outputChannels"], spec["kernelSize"],
                                          spec["stride"], spec["padding"]))
            shape = [spec["outputChannels"]] + [(n + 2 * spec["padding"] - spec["kernelSize"]) // spec["stride"] + 1
                                                for n in shape[1:]]
        elif kind == "batchNorm":
            norm = torch.nn.BatchNorm2d if len(shape) == 3 else torch.nn.BatchNorm1d
            layers.append(norm(spec["features"], eps=spec["epsilon"], momentum=spec["momentum"]))
        elif kind == "relu":
            layers.append(torch.nn.ReLU())
        elif kind == "maxPool2d":
            layers.append(torch.nn.MaxPool2d(spec["kernelSize"], spec["stride"]))
            shape = [shape[0]] + [(n - spec["kernelSize"]) // spec["stride"] + 1 for n in shape[1:]]
        elif kind == "dropout":
            layers.append(torch.nn.Dropout(spec["rate"]))
        elif kind == "flatten":
            layers.append(torch.nn.Flatten())
            shape = [int(np.prod(shape))]
        elif kind == "dense":
            layers.append(torch.nn.Linear(spec["inputSize"], spec["outputSize"]))
            shape = [spec["outputSize"]]
        else:
            raise SystemExit(f"unsupported layer {kind}")
    network = torch.nn.Sequential(*layers)
    # Our tensors are named as nn.Sequential inside a module attribute `layers` names them.
    state = {name.removeprefix("layers."): tensor for name, tensor in load_file(path).items()}
    missing, unexpected = network.load_state_dict(state, strict=False)
    if unexpected or any(not name.endswith("num_batches_tracked") for name in missing):
        raise SystemExit(f"{path}: weights do not fit the architecture (missing {missing}, unexpected {unexpected})")
    return network.eval()


def otsu(values):
    histogram = np.bincount((values * 255).astype(np.int32).ravel(), minlength=256).astype(np.float64)
    total = histogram.sum()
    levels = np.arange(256)
    weight = np.cumsum(histogram)
    mean = np.cumsum(histogram * levels)
    between = (mean[-1] * weight - mean * total) ** 2 / np.maximum(weight * (total - weight), 1e-12)
    return (np.argmax(between) + 0.5) / 255


def normalise(path):
    """28×28 MNIST-style input, or None when no ink is found."""
    try:
        image = Image.open(path)
        if image.mode.startswith("I"):
            # 16-bit gray: Pillow's convert("L") would clip it, not scale it.
            image = Image.fromarray((np.asarray(image, dtype=np.float32) / 257).round().astype(np.uint8))
        elif "A" in image.getbands() or "transparency" in image.info:
            image = image.convert("LA")
        else:
            image = image.convert("L")
        if image.mode == "LA":
            gray, alpha = (np.asarray(band, dtype=np.float32) / 255 for band in image.split())
            opaque = alpha > 0.5
            background = 1.0 if opaque.any() and gray[opaque].mean() < 0.5 else 0.0
            gray = alpha * gray + (1 - alpha) * background
        else:
            gray = np.asarray(image, dtype=np.float32) / 255
    except Exception as error:  # an unreadable file is reported and skipped, as the tool does
        print(f"{path}: {error}", file=sys.stderr)
        return None
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:
        gray = 1 - gray
    ink = gray > otsu(gray)
    rows, columns = np.nonzero(ink)
    if rows.size == 0:
        return None
    top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
    digit = np.where(ink, gray, 0)[top:bottom, left:right]
    height, width = digit.shape
    scale = 20 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    box = np.asarray(Image.fromarray(digit).resize(size, Image.Resampling.BOX), dtype=np.float32)
    field = np.zeros((28, 28), dtype=np.float32)
    y0, x0 = (28 - box.shape[0]) // 2, (28 - box.shape[1]) // 2
    field[y0:y0 + box.shape[0], x0:x0 + box.shape[1]] = box
    total = field.sum()
    if total > 0:
        ys, xs = np.indices(field.shape)
        dy, dx = round(14 - (ys * field).sum() / total), round(14 - (xs * field).sum() / total)
        field = np.roll(field, (int(np.clip(dy, -4, 4)), int(np.clip(dx, -4, 4))), axis=(0, 1))
    return (field - 0.1307) / 0.3081


def main():
    model, folder = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else os.cpu_count()
    torch.set_num_threads(threads)
    files = sorted(os.path.join(root, name) for root, _, names in os.walk(folder)
                   for name in names if name.lower().endswith(".png"))
    network = build_network(model)
    with Pool(threads) as pool:
        inputs = pool.map(normalise, files, chunksize=64)
    found = [i for i, x in enumerate(inputs) if x is not None]
    answers = {}
    with torch.inference_mode():
        for start in range(0, len(found), 256):
            chunk = found[start:start + 256]
            batch = torch.from_numpy(np.stack([inputs[i] for i in chunk])[:, None])
            for index, digit in zip(chunk, network(batch).argmax(1).tolist()):
                answers[index] = digit
    lines, correct, labelled = [], 0, 0
    for index, path in enumerate(files):
        digit = answers.get(index)
        lines.append(f"{path}\t{'-' if digit is None else digit}")
        parts = os.path.basename(path).split("-")
        if len(parts) >= 3 and parts[1].isdigit():
            labelled += 1
            correct += digit == int(parts[1])
    sys.stdout.write("\n".join(lines) + "\n")
    if labelled:
        print(f"accuracy {100 * correct / labelled:.2f} % of {labelled}", file=sys.stderr)


if __name__ == "__main__":
    main()
