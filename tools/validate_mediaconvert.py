#!/usr/bin/env python3
"""Validates MediaConvert CreateJob requests (PascalCase JSON) against the official model shipped in botocore.

Checks required members, types and unknown keys (botocore's ParamValidator), and adds what ParamValidator
leaves out: enum values, minimum and maximum numbers and lengths, and string patterns.

Usage: validate_mediaconvert.py FILE.json [FILE.json ...]
A file holds a CreateJob request, or a job-builder result {"CreateJob": {...}}. Exit status 1 lists every problem.
"""

import json
import re
import sys

import botocore.session
from botocore.validate import ParamValidator


def create_job_shape():
    """The CreateJob input shape of the MediaConvert model in the installed botocore."""
    model = botocore.session.get_session().get_service_model("mediaconvert")
    return model.operation_model("CreateJob").input_shape


def _walk(shape, value, path, problems):
    """Enum, min/max and pattern checks, recursively (ParamValidator reports type errors itself)."""
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure" and isinstance(value, dict):
        for key, member_value in value.items():
            if key in shape.members:
                _walk(shape.members[key], member_value, f"{path}.{key}", problems)
    elif kind == "list" and isinstance(value, list):
        _check_range(len(value), meta, path, "length", problems)
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{i}]", problems)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _walk(shape.key, key, f"{path}.<key {key!r}>", problems)
            _walk(shape.value, item, f"{path}[{key!r}]", problems)
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {'|'.join(shape.enum)}")
        _check_range(len(value), meta, path, "length", problems)
        pattern = meta.get("pattern")
        if pattern and not re.search(pattern, value):
            problems.append(f"{path}: {value!r} does not match pattern {pattern}")
    elif kind in ("integer", "long", "double", "float") and isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_range(value, meta, path, "value", problems)


def _check_range(number, meta, path, what, problems):
    if "min" in meta and number < meta["min"]:
        problems.append(f"{path}: {what} {number} is below the minimum {meta['min']}")
    if "max" in meta and number > meta["max"]:
        problems.append(f"{path}: {what} {number} is above the maximum {meta['max']}")


def validate(request, shape=None):
    """Every problem of one CreateJob request, as `path: message` strings (empty when valid)."""
    shape = shape or create_job_shape()
    problems = []
    report = ParamValidator().validate(request, shape)
    if report.has_errors():
        problems.extend(line.strip() for line in report.generate_report().splitlines() if line.strip())
    _walk(shape, request, "CreateJob", problems)
    return problems


def load_request(path):
    """The CreateJob request in a file (unwrapping a job-builder result)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict) and set(data) == {"CreateJob"}:
        data = data["CreateJob"]
    return data


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    shape = create_job_shape()
    failed = 0
    for path in paths:
        problems = validate(load_request(path), shape)
        if problems:
            failed += 1
            print(f"INVALID {path}")
            for problem in problems:
                print(f"  {problem}")
    print(f"validate_mediaconvert: {len(paths) - failed} of {len(paths)} job(s) valid against botocore's MediaConvert model")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
