#!/usr/bin/env python3
"""Prices the rows of a CSV with a house-price model file, written only from the file format's
specification (apps/HousePrice/Preprocessing.md), with numpy and safetensors: a check that the
specification is complete, and a starting point for Python users.

Usage: Tools/house-price-reference.py MODEL.safetensors ROWS.csv > priced.csv
Prints the CSV's rows with a predicted_<target> column, like `house-price predict`.
"""
import csv
import datetime
import json
import math
import re
import sys

import numpy as np
from safetensors.numpy import load_file

MISSING = {"", "NA", "N/A", "NaN", "nan", "null", "NULL"}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
FULL_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
               "october", "november", "december"]
EPOCH = datetime.date(1970, 1, 1).toordinal()


def number(text):
    """A finite float, None for text that is not a number, or raises for a non-finite one."""
    body = text
    sign = ""
    if body[:1] in "+-" and body:
        sign, body = body[0], body[1:]
    if body.lower() in ("inf", "infinity"):
        raise ValueError(f'"{text}" is not a finite number')
    if body[:1] in ("$", "€", "£") and body:
        body = body[1:]
    if "," in body:
        whole, point, fraction = body.partition(".")
        groups = whole.split(",")
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and all(g.isdigit() for g in groups)):
            return None
        body = "".join(groups) + point + fraction
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", sign + body):
        return None
    value = float(sign + body)
    if not math.isfinite(value):
        raise ValueError(f'"{text}" is not a finite number')
    return value


def clock(text):
    match = re.fullmatch(r"(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?Z?", text)
    if not match:
        return None
    hours, minutes = int(match[1]), int(match[2])
    seconds = int(match[3] or 0) + (int(match[4]) / 10 ** len(match[4]) if match[4] else 0)
    if hours >= 24 or minutes >= 60 or seconds >= 61:
        return None
    return hours * 3600 + minutes * 60 + seconds


def day_number(text, order):
    """Days since 1970-01-01 with the time of day as the fraction, or None."""
    seconds = 0.0
    match = re.fullmatch(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(\.\d{1,9})?", text)
    if match:
        y, m, d = int(match[1]), int(match[2]), int(match[3])
        h, mi, s = int(match[4]), int(match[5]), int(match[6])
        if h >= 24 or mi >= 60 or s >= 61:
            return None
        return civil(y, m, d, h * 3600 + mi * 60 + s)
    match = re.fullmatch(r"(\d{4})(\d\d)(\d\d)", text)
    if match:
        return civil(int(match[1]), int(match[2]), int(match[3]), 0)
    split = max(text.rfind("T"), text.rfind(" "))
    if split >= 0 and ":" in text[split + 1:]:
        seconds = clock(text[split + 1:])
        if seconds is None:
            return None
        text = text[:split]
    tokens = [t for t in re.split(r"[-/., ]+", text) if t]
    separators = set(re.findall(r"[-/.]", text))
    if len(tokens) != 3 or len(separators) > 1 or not all(t.isdigit() or t.isalpha() for t in tokens):
        return None
    names = [i for i, t in enumerate(tokens) if t.isalpha()]
    if names:
        index = names[0]
        name = tokens[index].lower()
        month = next((k + 1 for k, prefix in enumerate(MONTHS) if name.startswith(prefix)), None)
        if month is None or len(name) < 3 or not (len(name) == 3 or FULL_MONTHS[month - 1].startswith(name)):
            return None
        others = [i for i in range(3) if i != index]
        if not all(tokens[i].isdigit() for i in others) or index == 2 or len(tokens[others[1]]) != 4:
            return None
        return civil(int(tokens[others[1]]), month, int(tokens[others[0]]), seconds)
    if len(separators) != 1 or any(len(t) > 9 for t in tokens):
        return None
    a, b, c = (int(t) for t in tokens)
    if len(tokens[0]) == 4 and len(tokens[1]) <= 2 and len(tokens[2]) <= 2:
        return civil(a, b, c, seconds)
    if len(tokens[2]) == 4 and len(tokens[0]) <= 2 and len(tokens[1]) <= 2:
        return civil(c, b, a, seconds) if order == "dmy" else civil(c, a, b, seconds)
    return None


def civil(year, month, day, seconds):
    if not 1000 <= year <= 9999:
        return None
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        return None
    return date.toordinal() - EPOCH + seconds / 86400


def scale_features(scale, value):
    x = scale["median"] if value is None else value
    out = [(x - scale["mean"]) / scale["deviation"]]
    if scale.get("missingIndicator"):
        out.append(1.0 if value is None else 0.0)
    edges = scale.get("binEdges") or []
    for k in range(len(edges) - 1):
        out.append(min(1.0, max(0.0, (x - edges[k]) / (edges[k + 1] - edges[k]))))
    return out


def features(pipeline, header, row, line):
    out = []
    for column in pipeline["columns"]:
        name = column["name"]
        raw = row[header.index(name)].strip(" \t")
        missing = raw in MISSING or raw in pipeline.get("missingMarkers", []) or raw in column.get("missingMarkers", [])
        kind = column["kind"]
        if kind == "numeric":
            value = None if missing else number(raw)
            if not missing and value is None:
                raise ValueError(f'line {line}: column "{name}": "{raw}" is not a number')
            out += scale_features(column, value)
        elif kind == "date":
            value = None if missing else day_number(raw, column["dateOrder"])
            if not missing and value is None:
                raise ValueError(f'line {line}: column "{name}": "{raw}" is not a date')
            out += scale_features(column, value)
            if value is None:
                out += [0.0, 0.0]
            else:
                month = datetime.date.fromordinal(math.floor(value) + EPOCH).month
                angle = 2 * math.pi * (month - 1) / 12
                out += [math.sin(angle), math.cos(angle)]
        else:
            if missing:
                text = "(missing)"
            else:
                try:
                    value = number(raw)
                except ValueError:
                    value = None
                text = repr(value) if value is not None else raw
            categories = column["categories"]
            out += [1.0 if c == text else 0.0 for c in categories]
            out.append(0.0 if text in categories else 1.0)
    for location in pipeline.get("locations", []):
        def coordinate(name):
            raw = row[header.index(name)].strip(" \t")
            column = next((c for c in pipeline["columns"] if c["name"] == name), {})
            if raw in MISSING or raw in pipeline.get("missingMarkers", []) or raw in column.get("missingMarkers", []):
                return None
            value = number(raw)
            if value is None:
                raise ValueError(f'line {line}: column "{name}": "{raw}" is not a number')
            return value
        lat, lon = coordinate(location["latitude"]), coordinate(location["longitude"])
        for angle, scale in zip(location["angles"], location["projections"]):
            if lat is None or lon is None:
                value = None
            else:
                radians = angle * math.pi / 180
                value = lon * location["longitudeScale"] * math.cos(radians) + lat * math.sin(radians)
            out += scale_features(scale, value)
    return out


def main():
    model_path, csv_path = sys.argv[1], sys.argv[2]
    tensors = load_file(model_path)
    with open(model_path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        metadata = json.loads(f.read(length))["__metadata__"]
    pipeline = json.loads(metadata["preprocessing"])
    layers = json.loads(metadata["architecture"])["layers"]
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip(" \t") for h in next(reader)]
        rows = [r for r in reader if r and r != [""]]
    inputs = np.array([features(pipeline, header, r, i + 2) for i, r in enumerate(rows)], dtype=np.float64).astype(np.float32)
    x = inputs
    for index, layer in enumerate(layers):
        if layer["type"] == "dense":
            x = x @ tensors[f"layers.{index}.weight"].T + tensors[f"layers.{index}.bias"]
        elif layer["type"] == "relu":
            x = np.maximum(x, 0)
        elif layer["type"] != "dropout":
            raise ValueError(f"layer type {layer['type']} is not in a house-price model")
    prices = x[:, 0].astype(np.float64) * pipeline["targetDeviation"] + pipeline["targetMean"]
    if pipeline["logTarget"]:
        prices = np.exp(prices)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header + ["predicted_" + pipeline["target"]])
    for row, price in zip(rows, prices):
        writer.writerow(row + [f"{price:.2f}"])


if __name__ == "__main__":
    main()
