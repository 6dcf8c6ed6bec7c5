#!/usr/bin/env python3
"""Prices the rows of a CSV with a house-price model file, written only from the file format's
specification (apps/HousePrice/Preprocessing.md), with numpy and safetensors: a check that the
specification is complete, and a starting point for Python users.

Usage: Tools/house-price-reference.py MODEL.safetensors ROWS.csv > priced.csv
Prints the CSV's rows with a predicted_<target> column, like `house-price predict`.
"""
import csv
import codecs
import datetime
import io
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


CURRENCY = ("$", "€", "£")
GROUP_MARKS = {"point": ",'", "comma": ". \u00a0\u202f"}


def plain_decimal(text, separator):
    """`text` as a plain decimal float() reads, when it is a number written with `separator`
    ("point": 1,234.5; "comma": 1.234,5), else None (Preprocessing.md, "Reading a cell")."""
    body = text.strip(" \t")
    sign = ""
    if body[:1] in ("+", "-"):
        sign, body = body[0], body[1:]
    if body[:1] in CURRENCY:
        body = body[1:]
    elif body[-1:] in CURRENCY:
        body = body[:-1]
    body = body.strip(" \t")
    exponent = ""
    if separator == "point":
        e = re.search(r"[eE]", body)
        if e:
            exponent, body = body[e.start():], body[:e.start()]
            if not re.fullmatch(r"[eE][+-]?[0-9]+", exponent):
                return None
    whole, mark, fraction = body.partition("." if separator == "point" else ",")
    if not re.fullmatch(r"[0-9]*", fraction):
        return None
    if not whole:
        return sign + "0." + fraction + exponent if fraction else None
    if not re.fullmatch(r"[0-9]+", whole):
        group_mark = next(c for c in whole if not ("0" <= c <= "9"))
        groups = whole.split(group_mark)
        if group_mark not in GROUP_MARKS[separator] or not (1 <= len(groups[0]) <= 3) \
                or not all(len(g) == 3 for g in groups[1:]) or not all(re.fullmatch(r"[0-9]+", g) for g in groups):
            return None
        whole = "".join(groups)
    return sign + whole + ("." + fraction if mark else "") + exponent


def number(text, separator="point"):
    """A finite float, None for text that is not a number, or raises for a non-finite one. A text
    that reads both ways (1,234) is read with the file's `separator`."""
    body = text.strip(" \t")
    if (body[1:] if body[:1] in ("+", "-") else body).lower() in ("inf", "infinity"):
        raise ValueError(f'"{text}" is not a finite number')
    point, comma = plain_decimal(text, "point"), plain_decimal(text, "comma")
    plain = (point if separator == "point" else comma) if point and comma else (point or comma)
    if plain is None:
        return None
    value = float(plain)
    if not math.isfinite(value):
        raise ValueError(f'"{text}" is not a finite number')
    return value


def sample_records(sample, delimiter, complete):
    """Up to 1,000 records of the file's first 64 KB split at `delimiter` (quotes honoured, blank
    lines skipped, a last record without a line end only when the sample is the whole file)."""
    records, fields, field, quoted, at_start, i = [], [], "", False, True, 0
    def finish_record():
        nonlocal fields
        fields.append(field)
        if fields != [""]:
            records.append(fields)
        fields = []
    while i < len(sample) and len(records) < 1000:
        c = sample[i]
        i += 1
        if quoted:
            if c == '"' and sample[i:i + 1] == '"':
                field, i = field + c, i + 1
            elif c == '"':
                quoted = False
            else:
                field += c
        elif c == '"' and at_start:
            quoted, at_start = True, False
        elif c == delimiter:
            fields.append(field)
            field, at_start = "", True
        elif c in "\r\n":
            if c == "\r" and sample[i:i + 1] == "\n":
                i += 1
            finish_record()
            field, at_start = "", True
        else:
            field, at_start = field + c, False
    if complete and i == len(sample) and (fields or field):
        finish_record()
    return records


def latin1(error):
    """Windows-1252 leaves five bytes undefined; they keep their Latin-1 meaning both ways, as
    Windows decodes them (a character beyond Latin-1 is written as ?)."""
    if isinstance(error, UnicodeDecodeError):
        return chr(error.object[error.start]), error.start + 1
    code = ord(error.object[error.start])
    return (bytes([code]) if code < 256 else b"?"), error.start + 1


codecs.register_error("latin1", latin1)


def encoding(raw):
    """UTF-8, or Windows-1252 when the file's first 64 KB (after a byte-order mark) are not UTF-8,
    a character cut by their end aside (Preprocessing.md, "Reading a file")."""
    try:
        raw[:65536].decode("utf-8")
    except UnicodeDecodeError as error:
        cut = len(raw) > 65536 and error.reason == "unexpected end of data" and error.start >= 65536 - 3
        return "utf-8" if cut else "cp1252"
    return "utf-8"


def dialect(raw, text_encoding, named=None):
    """The delimiter and decimal separator of a file (Preprocessing.md, "Reading a file"); `named`
    is the delimiter a `sep=` line gave."""
    sample, complete = raw[:65536].decode(text_encoding, errors="ignore"), len(raw) <= 65536
    best, best_fields, best_consistent, chosen = named or ",", 1, False, []
    if named:
        chosen = sample_records(sample, named, complete)
    for candidate in [] if named else [",", ";", "\t", "|"]:
        records = sample_records(sample, candidate, complete)
        if not records or len(records[0]) < 2:
            continue
        consistent = all(len(r) == len(records[0]) for r in records)
        if (consistent and not best_consistent) or (consistent == best_consistent and len(records[0]) > best_fields):
            best, best_fields, best_consistent, chosen = candidate, len(records[0]), consistent, records
    point_only = comma_only = 0
    for record in chosen[1:]:
        for field in record:
            point, comma = plain_decimal(field, "point") is not None, plain_decimal(field, "comma") is not None
            point_only += point and not comma
            comma_only += comma and not point
    comma = comma_only > point_only or (comma_only == point_only and best == ";")
    return best, "comma" if comma else "point"


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


def features(pipeline, header, row, line, separator):
    out = []
    for column in pipeline["columns"]:
        name = column["name"]
        raw = row[header.index(name)].strip(" \t")
        missing = raw in MISSING or raw in pipeline.get("missingMarkers", []) or raw in column.get("missingMarkers", [])
        kind = column["kind"]
        if kind == "numeric":
            value = None if missing else number(raw, separator)
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
                    value = number(raw, separator)
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
            value = number(raw, separator)
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
    with open(csv_path, "rb") as f:
        raw = f.read()
    raw = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    hint = re.match(rb"sep=([,;\t|])(\r?\n|\r?$)", raw)
    raw = raw[hint.end():] if hint else raw
    text_encoding = encoding(raw)
    text = raw.decode(text_encoding, errors="latin1" if text_encoding == "cp1252" else "strict")
    delimiter, separator = dialect(raw, text_encoding, hint.group(1).decode() if hint else None)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip(" \t") for h in next(reader)]
    rows = [r for r in reader if r and r != [""]]
    inputs = np.array([features(pipeline, header, r, i + 2, separator) for i, r in enumerate(rows)],
                      dtype=np.float64).astype(np.float32)
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
    # Written back in the file's dialect, its encoding included.
    out = io.TextIOWrapper(sys.stdout.buffer, encoding=text_encoding, newline="",
                           errors="latin1" if text_encoding == "cp1252" else "strict")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header + ["predicted_" + pipeline["target"]])
    for row, price in zip(rows, prices):
        writer.writerow(row + [f"{price:.2f}".replace(".", "," if separator == "comma" else ".")])
    out.flush()


if __name__ == "__main__":
    main()
