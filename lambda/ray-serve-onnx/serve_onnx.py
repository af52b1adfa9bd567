"""Ray Serve application serving an ONNX model from S3 with the model server's JSON contract.

POST /<route>/invocations {"instances": [[...], ...]} -> {"predictions": [[...], ...]}
GET  /<route>/metadata    -> {"inputs": [...], "outputs": [...], "model": "s3://..."}
GET  /<route>/ping        -> 200 once the model is loaded

With CAPTURE_BUCKET and CAPTURE_SAMPLING_PERCENT set, a sample of successful invocations goes to the lake in the
platform's capture format (capture.py), for the drift job.

The model is read from MODEL_S3_URI (s3://bucket/key) with the pod's IAM role (the Ray service account).
With SEED_REFERENCE_MODEL=1 and no object at that URI yet, the bundled reference model (reference.onnx,
mounted beside this file) is uploaded there first, so a fresh platform serves something from the artifacts
bucket; a real model written to the same key replaces it on the next upgrade or restart.
"""
import json
import os
import pathlib
import time

import boto3
import numpy as np
import onnxruntime as ort
from botocore.exceptions import ClientError
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from capture import TrafficCapture, s3_writer, settings_from_env

HERE = pathlib.Path(__file__).resolve().parent
NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"MODEL_S3_URI must look like s3://bucket/key, got {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def fetch_model(uri: str, seed: bool) -> bytes:
    bucket, key = split_s3_uri(uri)
    s3 = boto3.client("s3", region_name=os.environ.get("AWS_REGION"))
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        if not seed or err.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
    body = (HERE / "reference.onnx").read_bytes()
    # The bucket enforces KMS encryption; the default bucket key applies.
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/octet-stream")
    return body


def tensor_spec(node) -> dict:
    return {"name": node.name, "dtype": node.type.replace("tensor(", "").replace(")", "").replace("float", "float32").replace("double", "float64"),
            "shape": [d if isinstance(d, int) else -1 for d in node.shape]}


@serve.deployment(ray_actor_options={"num_cpus": 1})
class OnnxModel:
    def __init__(self) -> None:
        self.uri = os.environ["MODEL_S3_URI"]
        started = time.time()
        self.session = ort.InferenceSession(fetch_model(self.uri, os.environ.get("SEED_REFERENCE_MODEL") == "1"), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0]
        self.load_seconds = round(time.time() - started, 3)
        capture = settings_from_env()
        self.capture = TrafficCapture(capture, s3_writer()) if capture else None

    async def __call__(self, request: Request) -> JSONResponse:
        path = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if request.method == "GET" and path == "ping":
            return JSONResponse({"status": "ok", "model": self.uri, "loadSeconds": self.load_seconds})
        if request.method == "GET" and path == "metadata":
            return JSONResponse({"model": self.uri, "inputs": [tensor_spec(i) for i in self.session.get_inputs()],
                                 "outputs": [tensor_spec(o) for o in self.session.get_outputs()]})
        if request.method != "POST" or path != "invocations":
            return JSONResponse({"error": "use POST /invocations, GET /metadata or GET /ping"}, status_code=404)
        raw = await request.body()
        try:
            body = json.loads(raw)
            instances = body["instances"]
            features = np.asarray(instances, dtype=NUMPY_TYPES.get(self.input.type, np.float32))
        except (ValueError, KeyError, TypeError) as err:
            return JSONResponse({"error": f'expected {{"instances": [[...], ...]}}: {err}'}, status_code=400)
        outputs = self.session.run(None, {self.input.name: features})
        # Serialized once: the captured response is exactly the bytes the caller gets.
        text = json.dumps({"predictions": outputs[0].tolist()}, separators=(",", ":"))
        if self.capture:
            self.capture.offer(raw.decode("utf-8", "replace"), text)
        return Response(content=text, media_type="application/json")


app = OnnxModel.bind()
