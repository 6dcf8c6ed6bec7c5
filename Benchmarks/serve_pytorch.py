#!/usr/bin/env python3
"""The Python baseline for Benchmarks/serve-load.sh: the same network as `digits serve` (the shipped
BatchNorm CNN, its weights read from the same model file) behind FastAPI + uvicorn, in PyTorch.
POST /v1/classify takes a PNG body and answers {"label", "confidence"}: Pillow decodes it, it is
made gray, inverted when its border is light, resized to 28×28 and standardised like MNIST (a
simpler preprocessing than Backprop's, so the comparison is generous to Python).

Run: uvicorn --app-dir Benchmarks serve_pytorch:app --port N --workers 2   (MODEL=path to the model)
"""
import io
import json
import os

import numpy as np
import torch
import torch.nn as nn
from fastapi import FastAPI, HTTPException, Request
from PIL import Image
from safetensors.numpy import load_file

torch.set_num_threads(1)   # one per worker process; the benchmark runs two workers on two cores
MODEL = os.environ.get("MODEL", "data/models/digits.safetensors")


def build(path):
    with open(path, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    architecture = json.loads(header["__metadata__"]["architecture"])
    layers = []
    shape = architecture["inputShape"]
    for spec in architecture["layers"]:
        kind = spec["type"]
        if kind == "conv2d":
            layers.append(nn.Conv2d(spec["inputChannels"], spec["outputChannels"], spec["kernelSize"], spec["stride"], spec["padding"]))
        elif kind == "batchNorm":
            layers.append(nn.BatchNorm2d(spec["features"], eps=spec["epsilon"]) if len(shape) == 3 else nn.BatchNorm1d(spec["features"], eps=spec["epsilon"]))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "maxPool2d":
            layers.append(nn.MaxPool2d(spec["kernelSize"], spec["stride"]))
        elif kind == "dropout":
            layers.append(nn.Dropout(spec["rate"]))
        elif kind == "flatten":
            layers.append(nn.Flatten())
            shape = [int(np.prod(shape))]
        elif kind == "dense":
            layers.append(nn.Linear(spec["inputSize"], spec["outputSize"]))
            shape = [spec["outputSize"]]
        else:
            raise ValueError(kind)
    model = nn.Module()
    model.layers = nn.Sequential(*layers)
    state = {k: torch.from_numpy(v) for k, v in load_file(path).items()}
    model.load_state_dict(state, strict=False)
    model.eval()
    return model.layers, json.loads(header["__metadata__"]["labels"])


network, labels = build(MODEL)
app = FastAPI()


@app.post("/v1/classify")
async def classify(request: Request):
    body = await request.body()
    try:
        image = Image.open(io.BytesIO(body)).convert("L")
    except Exception:
        raise HTTPException(status_code=400, detail="not a PNG")
    pixels = np.asarray(image, dtype=np.float32) / 255
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if np.median(border) > 0.5:
        pixels = 1 - pixels
    small = np.asarray(Image.fromarray((pixels * 255).astype(np.uint8)).resize((28, 28), Image.BILINEAR), dtype=np.float32) / 255
    tensor = torch.from_numpy((small - 0.1307) / 0.3081).reshape(1, 1, 28, 28)
    with torch.no_grad():
        probabilities = torch.softmax(network(tensor), dim=1)[0]
    best = int(probabilities.argmax())
    return {"label": labels[best], "confidence": float(probabilities[best])}
