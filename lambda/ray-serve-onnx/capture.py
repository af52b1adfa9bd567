"""Traffic capture of the Ray Serve path, in the platform's shared capture format.

The same records and object layout as the Lambda model server (lambda/model-server/src/capture-format.ts) and
SageMaker data capture, so the one drift job reads every path:

    one JSON line per request: {"captureData": {"endpointInput": {...}, "endpointOutput": {...}},
                                "eventMetadata": {"eventId", "inferenceTime", "servingPath": "ray", "modelPackageArn" | "modelName"},
                                "eventVersion": "0"}
    objects: <prefix><source>/<model>/YYYY/MM/DD/HH/<epoch ms>-<uuid>.jsonl, KMS-encrypted

Settings come from the environment (CAPTURE_BUCKET, CAPTURE_PREFIX, CAPTURE_SAMPLING_PERCENT, CAPTURE_KMS_KEY_ID,
CAPTURE_SOURCE, MODEL_PACKAGE_ARN, MODEL_NAME, CAPTURE_MAX_RECORDS, CAPTURE_MAX_AGE_MS), like the Lambda server's.

The request path pays one random draw when a request is not sampled and one string build when it is. Objects are
written by a daemon thread; a failed write is counted and logged, never raised into a request. Records still
buffered when a replica stops are lost, which a sample tolerates (at most CAPTURE_MAX_RECORDS per replica).
No third-party imports at module level: boto3 is imported only by the S3 writer.
"""
import datetime
import json
import logging
import os
import queue
import random
import re
import threading
import time
import uuid

log = logging.getLogger("ray.serve")

_PACKAGE = re.compile(r":model-package/([^/]+)/(\d+)$")


def model_partition(model_package_arn, model_name):
    """`group-version` of a model package ARN, else the model name, as one safe path segment (as capture-format.ts)."""
    m = _PACKAGE.search(model_package_arn) if model_package_arn else None
    raw = f"{m.group(1)}-{m.group(2)}" if m else model_name
    return re.sub(r"[^A-Za-z0-9._-]", "_", raw)[:128] or "model"


def hour_path(epoch_ms):
    t = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return f"{t.year}/{t.month:02d}/{t.day:02d}/{t.hour:02d}"


def iso_time(epoch_ms):
    t = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def capture_line(input_text, output_text, meta):
    """One capture record; both bodies as sent and returned (no re-serialization)."""
    data = {"endpointInput": {"observedContentType": "application/json", "mode": "INPUT", "data": input_text, "encoding": "JSON"}}
    if output_text is not None:
        data["endpointOutput"] = {"observedContentType": "application/json", "mode": "OUTPUT", "data": output_text, "encoding": "JSON"}
    return json.dumps({"captureData": data, "eventMetadata": meta, "eventVersion": "0"}, separators=(",", ":"))


def _number(env, name, fallback, low, high):
    raw = env.get(name)
    if raw is None or raw == "":
        return fallback
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (low <= value <= high):
        raise ValueError(f"{name}={raw!r} is invalid: must be a number between {low} and {high}")
    return value


def settings_from_env(env=None):
    """Capture settings, or None (capture off) without a bucket or at 0 percent. Raises naming a bad variable."""
    env = os.environ if env is None else env
    if not env.get("CAPTURE_BUCKET"):
        return None
    percent = _number(env, "CAPTURE_SAMPLING_PERCENT", 0, 0, 100)
    if percent == 0:
        return None
    prefix = env.get("CAPTURE_PREFIX", "capture/ray/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return {
        "bucket": env["CAPTURE_BUCKET"],
        "prefix": prefix,
        "sampling_percent": percent,
        "kms_key_id": env.get("CAPTURE_KMS_KEY_ID") or None,
        "source": env.get("CAPTURE_SOURCE") or "ray-serve",
        "model_package_arn": env.get("MODEL_PACKAGE_ARN") or None,
        "model_name": env.get("MODEL_NAME") or "model",
        "max_records": int(_number(env, "CAPTURE_MAX_RECORDS", 200, 1, 100_000)),
        "max_age_ms": _number(env, "CAPTURE_MAX_AGE_MS", 60_000, 100, 3_600_000),
    }


def s3_writer(region=None):
    """Writes one object with boto3 (the pod's IAM role), KMS-encrypted with the given key."""
    import boto3  # only where captures are written to S3

    s3 = boto3.client("s3", region_name=region or os.environ.get("AWS_REGION"))

    def write(bucket, key, body, kms_key_id):
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/x-ndjson", **extra)

    return write


class TrafficCapture:
    """Samples request/response pairs into a buffer; a daemon thread writes full or old buffers as one JSONL object."""

    def __init__(self, settings, write, rand=random.random, now_ms=lambda: time.time() * 1000):
        self.settings = settings
        self.stats = {"captured": 0, "written": 0, "objects": 0, "failed_writes": 0, "dropped_records": 0}
        self._write = write
        self._rand = rand
        self._now_ms = now_ms
        self._threshold = settings["sampling_percent"] / 100
        self._partition = model_partition(settings["model_package_arn"], settings["model_name"])
        arn = settings["model_package_arn"]
        self._identity = {"modelPackageArn": arn} if arn else {"modelName": settings["model_name"]}
        self._buffer = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self._queue = queue.Queue()
        self._writer = threading.Thread(target=self._drain, name="traffic-capture", daemon=True)
        self._writer.start()

    def offer(self, input_text, output_text):
        """Offers one successful request. Never raises; costs one random draw when the request is not sampled."""
        now = self._now_ms()
        batch = None
        with self._lock:
            if self._rand() < self._threshold:
                line = capture_line(input_text, output_text, {
                    "eventId": str(uuid.uuid4()), "inferenceTime": iso_time(now), "servingPath": "ray", **self._identity,
                })
                if not self._buffer:
                    self._oldest = now
                self._buffer.append(line)
                self.stats["captured"] += 1
            if self._buffer and (len(self._buffer) >= self.settings["max_records"] or now - self._oldest >= self.settings["max_age_ms"]):
                batch = self._take()
        if batch:
            self._queue.put(batch)

    def flush(self, timeout=30.0):
        """Queues what is buffered and waits until every queued object is written (or failed)."""
        with self._lock:
            batch = self._take() if self._buffer else None
        if batch:
            self._queue.put(batch)
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def _take(self):
        lines, oldest = self._buffer, self._oldest
        self._buffer = []
        s = self.settings
        key = f"{s['prefix']}{s['source']}/{self._partition}/{hour_path(oldest)}/{int(oldest)}-{uuid.uuid4()}.jsonl"
        return key, lines

    def _drain(self):
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            key, lines = item
            try:
                self._write(self.settings["bucket"], key, "\n".join(lines) + "\n", self.settings["kms_key_id"])
                self.stats["written"] += len(lines)
                self.stats["objects"] += 1
            except Exception as err:  # a lost sample must never reach a request
                self.stats["failed_writes"] += 1
                self.stats["dropped_records"] += len(lines)
                log.warning("traffic capture: %d records not written to s3://%s/%s: %s", len(lines), self.settings["bucket"], key, err)
