#!/usr/bin/env python3
"""Checks running servers against apps/openapi.yaml: the file is a valid OpenAPI 3.1 document, and
for a set of requests (good and bad) each answer's status is documented for its path and method
and its JSON body validates against the documented schema.

Usage: check_openapi.py DIGITS_URL HOUSE_PRICE_URL REPOSITORY_ROOT
Prints one line per request and "openapi: N responses conform"; exits 1 on the first mismatch.
"""
import json
import sys
import urllib.error
import urllib.request

import yaml
from jsonschema.validators import Draft202012Validator
from openapi_spec_validator import validate

digits, house, root = sys.argv[1], sys.argv[2], sys.argv[3]
spec = yaml.safe_load(open(f"{root}/apps/openapi.yaml"))
validate(spec)


def resolve(node):
    """`node` with every local `$ref` (#/components/...) replaced by what it points to."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for key in node["$ref"].lstrip("#/").split("/"):
                target = target[key]
            return resolve(target)
        return {key: resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item) for item in node]
    return node


def request(base, path, method="GET", body=None, content_type=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


checked = 0


def check(base, path, method="GET", body=None, content_type=None, expect=None):
    global checked
    status, type_, data = request(base, path, method, body, content_type)
    operation = spec["paths"][path.split("?")[0]][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {path}: status {status} is not documented ({list(responses)})"
    if expect is not None:
        assert status == expect, f"{method} {path}: status {status}, expected {expect}: {data[:200]!r}"
    response = resolve(responses[str(status)])
    media = type_.split(";")[0].strip()
    assert media in response["content"], f"{method} {path}: {status} answered {media}, documented {list(response['content'])}"
    if media == "application/json":
        errors = list(Draft202012Validator(response["content"][media]["schema"]).iter_errors(json.loads(data)))
        assert not errors, f"{method} {path}: {status} body does not match the schema: {errors[0].message}"
    checked += 1
    print(f"{method} {path} → {status} {media}: conforms")


png = open(f"{root}/data/samples/0-7-gray8.png", "rb").read()
other = open(f"{root}/data/samples/3-0-rgb8.png", "rb").read()
boundary = "openapi-check"
form = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{name}\"\r\n\r\n".encode() + data + b"\r\n"
                for name, data in [("a.png", png), ("b.png", other), ("c.txt", b"not a png")]) + f"--{boundary}--\r\n".encode()
for base in (digits, house):
    check(base, "/healthz", expect=200)
    check(base, "/readyz", expect=200)
    check(base, "/v1/model", expect=200)
    status, type_, _ = request(base, "/metrics")
    assert status == 200 and type_.startswith("text/plain"), f"/metrics: {status} {type_}"
check(digits, "/v1/classify", "POST", png, "image/png", expect=200)
check(digits, "/v1/classify?top=10&input=1", "POST", png, "image/png", expect=200)
check(digits, "/v1/classify", "POST", form, f"multipart/form-data; boundary={boundary}", expect=200)
check(digits, "/v1/classify", "POST", b"hello", "image/png", expect=400)
check(digits, "/v1/classify", "POST", png, "text/plain", expect=415)
check(digits, "/v1/classify", "POST", form, "multipart/form-data", expect=400)
row = {"longitude": -122.2, "latitude": 37.8, "housing_median_age": 41, "total_rooms": 880, "total_bedrooms": None,
       "population": 322, "households": 126, "median_income": 8.3, "ocean_proximity": "NEAR BAY"}
check(house, "/v1/predict", "POST", json.dumps([row, row]).encode(), "application/json", expect=200)
check(house, "/v1/predict", "POST", open(f"{root}/Tests/Fixtures/fuzz/fuzz-csv/california.csv", "rb").read(), "text/csv", expect=200)
check(house, "/v1/predict", "POST", b"[{", "application/json", expect=400)
check(house, "/v1/predict", "POST", json.dumps([{"longitude": 1}]).encode(), "application/json", expect=400)
check(house, "/v1/predict", "POST", b"a,b\n1,2\n", "text/csv", expect=400)
european = open(f"{root}/Tests/Fixtures/fuzz/fuzz-csv/california.csv", "rb").read().replace(b",", b";").replace(b".", b",")
check(house, "/v1/predict?delimiter=semicolon&decimal=comma", "POST", european, "text/csv; charset=windows-1252", expect=200)
check(house, "/v1/predict?delimiter=colon", "POST", european, "text/csv", expect=400)
check(house, "/v1/predict", "POST", european, "text/csv; charset=koi8-r", expect=415)
check(house, "/v1/predict", "POST", b"<x/>", "application/xml", expect=415)
print(f"openapi: {checked} responses conform")
