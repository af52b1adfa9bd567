"""Model Monitor record preprocessor: flattens the platform's nested requests into one flat record per instance.

SageMaker Model Monitor's built-in analyzer (sagemaker-model-monitor-analyzer) compares flat records with the
baseline, but the platform's serving paths take `{"instances": [[...], ...]}`. The data-quality job definition
names this file as its `RecordPreprocessorSourceUri`; the analyzer calls `preprocess_handler` for every captured
line and analyses what it returns: a list of flat dicts, one per instance, keyed `_c0`, `_c1`, ... (the column
names Model Monitor's suggested baseline gives a headerless CSV), or the names in the job's FEATURE_NAMES
environment variable (comma-separated) when set.

Request bodies understood (the same as the drift job's parser, lambda/model-server/src/capture-format.ts):
`{"instances": [...]}`, `{"inputs": {name: [...]}}` (the first input), a bare JSON array of instances, and CSV
lines. Nested arrays flatten in order, objects by sorted key, booleans become 0/1. A record that is none of these
is skipped (an empty list), and logged when the analyzer passes its logger: one bad line never fails the run.
Standard library only: the analyzer image brings no extra packages.
"""
import base64
import json
import os


def _flatten(value, out):
    if isinstance(value, bool):
        out.append(1 if value else 0)
    elif value is None or isinstance(value, (int, float, str)):
        out.append(value)
    elif isinstance(value, list):
        for v in value:
            _flatten(v, out)
    elif isinstance(value, dict):
        for k in sorted(value):
            _flatten(value[k], out)
    return out


def _cell(text):
    text = text.strip()
    try:
        return float(text) if text else text
    except ValueError:
        return text


def instances_of(data, encoding="JSON", content_type="application/json"):
    """The instances of one request body (text), or None when it holds none."""
    if encoding == "BASE64":
        data = base64.b64decode(data).decode("utf-8")
    if encoding == "CSV" or "csv" in (content_type or ""):
        return [[_cell(c) for c in line.split(",")] for line in data.splitlines() if line.strip()] or None
    body = json.loads(data)
    if isinstance(body, list):
        return body or None
    if isinstance(body, dict):
        if isinstance(body.get("instances"), list):
            return body["instances"] or None
        inputs = body.get("inputs")
        if isinstance(inputs, dict) and inputs:
            first = next(iter(inputs.values()))
            if isinstance(first, list):
                return first or None
    return None


def flat_records(data, encoding="JSON", content_type="application/json", names=None):
    """One flat dict per instance of a request body."""
    instances = instances_of(data, encoding, content_type)
    if instances is None:
        raise ValueError("request body holds no instances")
    records = []
    for instance in instances:
        row = _flatten(instance, [])
        records.append({(names[i] if names and i < len(names) else f"_c{i}"): v for i, v in enumerate(row)})
    return records


def preprocess_handler(inference_record, logger=None):
    """Model Monitor's entry point: the flat records of one captured request (an empty list skips it)."""
    names = [n.strip() for n in os.environ.get("FEATURE_NAMES", "").split(",") if n.strip()] or None
    payload = inference_record.endpoint_input
    try:
        return flat_records(payload.data, getattr(payload, "encoding", "JSON"), getattr(payload, "observed_content_type", "application/json"), names)
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        if logger:
            logger.warning(f"skipped a captured record that is not a request with instances: {err}")
        return []
