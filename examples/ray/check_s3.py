"""Proves a Ray pod can read the lake and write a checkpoint with pyarrow's S3 filesystem (what Ray Data and
Ray Train use), with the credentials the pod gets.

On the cluster (the `ray` service account uses IRSA, which every pyarrow release reads):
    kubectl -n ray exec -it <head pod> -- python - < examples/ray/check_s3.py s3://<processed>/training/ s3://<artifacts>/ray-jobs/check/
Against a local S3-compatible server (MinIO, moto server) before deploying:
    python check_s3.py s3://lake/training/ s3://artifacts/ray-jobs/check/ --endpoint http://127.0.0.1:9000

It lists and reads one object under the first URI and writes then reads back a checkpoint under the second; any
credential problem (e.g. Pod Identity with a pyarrow that cannot read it, apache/arrow#45603) fails here, loudly.
"""
import argparse
import os
import sys

import pyarrow
import pyarrow.fs as pafs


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("read_uri")
    parser.add_argument("write_uri")
    parser.add_argument("--endpoint", help="S3-compatible endpoint for a local check")
    args = parser.parse_args()
    kwargs = {"region": os.environ.get("AWS_REGION", "us-east-1")}
    if args.endpoint:
        kwargs.update(endpoint_override=args.endpoint, scheme=args.endpoint.split("://")[0])
    fs = pafs.S3FileSystem(**kwargs)
    print(f"pyarrow {pyarrow.__version__}; credentials from "
          f"{'IRSA' if os.environ.get('AWS_WEB_IDENTITY_TOKEN_FILE') else 'Pod Identity' if os.environ.get('AWS_CONTAINER_CREDENTIALS_FULL_URI') else 'the default chain'}")
    read = args.read_uri.removeprefix("s3://").rstrip("/")
    files = [f for f in fs.get_file_info(pafs.FileSelector(read, recursive=True)) if f.type == pafs.FileType.File]
    if not files:
        print(f"no objects under s3://{read}", file=sys.stderr)
        return 1
    with fs.open_input_stream(files[0].path) as f:
        print(f"read {len(f.read(1 << 20))} bytes of s3://{files[0].path}")
    target = args.write_uri.removeprefix("s3://").rstrip("/") + "/checkpoint-check.bin"
    payload = os.urandom(1024)
    with fs.open_output_stream(target) as out:
        out.write(payload)
    with fs.open_input_stream(target) as f:
        assert f.read() == payload, "checkpoint read back differs"
    print(f"wrote and read back s3://{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
