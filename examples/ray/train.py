"""Example Ray training job for the platform (pipeline backend `ray`, or an `eks.ray.jobs` entry).

Reads Parquet from TRAIN_DATA_URI (the lake's processed bucket) with Ray Data, trains a small softmax classifier
with data-parallel gradient steps on Ray workers, checkpoints every epoch to OUTPUT_URI/checkpoints/, and writes
OUTPUT_URI/model.tar.gz (model.onnx inside: the platform's model server and Ray Serve app serve it) and
OUTPUT_URI/metrics.json ({"validation:accuracy": ...}), which the pipeline's Evaluate step reads.

Expects columns f0..f{n-1} (float) and `label` (int). S3 access comes from the pod's role through IRSA, which
pyarrow's S3 filesystem reads (see check_s3.py). Runtime needs: numpy, pyarrow (in the Ray image), onnx.
"""
import io
import json
import os
import tarfile

import numpy as np
import pyarrow.fs as pafs
import ray

EPOCHS = int(os.environ.get("EPOCHS", "5"))
LEARNING_RATE = float(os.environ.get("LEARNING_RATE", "0.5"))


def s3_path(uri: str) -> str:
    return uri.removeprefix("s3://")


def write_bytes(fs: pafs.FileSystem, uri: str, data: bytes) -> None:
    with fs.open_output_stream(s3_path(uri)) as out:
        out.write(data)


@ray.remote
def gradient(weights: np.ndarray, bias: np.ndarray, features: np.ndarray, labels: np.ndarray):
    logits = features @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[np.arange(len(labels)), labels] -= 1.0
    return features.T @ probs, probs.sum(axis=0), len(labels)


def to_onnx(weights: np.ndarray, bias: np.ndarray) -> bytes:
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "W"], ["logits"]), helper.make_node("Add", ["logits", "B"], ["scores"]),
         helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1)],
        "classifier",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", weights.shape[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", weights.shape[1]])],
        [numpy_helper.from_array(weights.astype(np.float32), "W"), numpy_helper.from_array(bias.astype(np.float32), "B")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def main() -> None:
    data_uri, output_uri = os.environ["TRAIN_DATA_URI"], os.environ["OUTPUT_URI"].rstrip("/") + "/"
    metric_name = os.environ.get("METRIC_NAME", "validation:accuracy")
    ray.init()
    table = ray.data.read_parquet(data_uri).to_pandas()
    feature_cols = sorted(c for c in table.columns if c.startswith("f"))
    features = table[feature_cols].to_numpy(np.float32)
    labels = table["label"].to_numpy(np.int64)
    split = int(len(labels) * 0.8)
    classes = int(labels.max()) + 1
    weights, bias = np.zeros((len(feature_cols), classes)), np.zeros(classes)
    shards = np.array_split(np.arange(split), max(1, int(ray.cluster_resources().get("CPU", 1))))
    fs = pafs.S3FileSystem(region=os.environ.get("AWS_REGION"))
    for epoch in range(EPOCHS):
        parts = ray.get([gradient.remote(weights, bias, features[s], labels[s]) for s in shards if len(s)])
        n = sum(p[2] for p in parts)
        weights -= LEARNING_RATE * sum(p[0] for p in parts) / n
        bias -= LEARNING_RATE * sum(p[1] for p in parts) / n
        buf = io.BytesIO()
        np.savez(buf, weights=weights, bias=bias)
        write_bytes(fs, f"{output_uri}checkpoints/epoch-{epoch}/checkpoint.npz", buf.getvalue())
    accuracy = float(((features[split:] @ weights + bias).argmax(axis=1) == labels[split:]).mean()) if split < len(labels) else 0.0
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        model = to_onnx(weights, bias)
        info = tarfile.TarInfo("model.onnx")
        info.size = len(model)
        tar.addfile(info, io.BytesIO(model))
    write_bytes(fs, f"{output_uri}model.tar.gz", archive.getvalue())
    write_bytes(fs, f"{output_uri}metrics.json", json.dumps({metric_name: accuracy}).encode())
    print(f"{metric_name}={accuracy:.4f}")


if __name__ == "__main__":
    main()
