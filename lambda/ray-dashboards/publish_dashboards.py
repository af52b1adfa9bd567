"""Publishes the Grafana dashboards Ray generates on its head node as `grafana_dashboard` ConfigMaps.

Ray writes its default dashboards (core, Serve, Data, Train, ...) for its own version at start-up under
/tmp/ray/session_latest/metrics/grafana/dashboards. Grafana's sidecar loads ConfigMaps labelled
grafana_dashboard=1 from every namespace. This loop, a sidecar of the Ray head sharing /tmp/ray, upserts one
ConfigMap per dashboard file in the pod's namespace with the pod's service account, and repeats so a restarted
head (new session) or a Ray upgrade republishes. Standard library only: it runs in the Ray image.
"""
import json
import os
import pathlib
import ssl
import time
import urllib.error
import urllib.request

SA = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount")
DASHBOARDS = pathlib.Path(os.environ.get("RAY_DASHBOARDS_DIR", "/tmp/ray/session_latest/metrics/grafana/dashboards"))
INTERVAL = int(os.environ.get("PUBLISH_INTERVAL_SECONDS", "300"))


def api(method: str, path: str, body=None) -> int:
    token = (SA / "token").read_text()
    ctx = ssl.create_default_context(cafile=str(SA / "ca.crt"))
    url = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ.get('KUBERNETES_SERVICE_PORT', '443')}{path}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=20) as res:
            return res.status
    except urllib.error.HTTPError as err:
        return err.code


def config_map_name(file: pathlib.Path) -> str:
    stem = file.stem.replace("_grafana_dashboard", "").replace("_", "-").lower()
    return f"ray-dashboard-{stem}"[:63].rstrip("-")


def publish_once(namespace: str) -> int:
    published = 0
    for file in sorted(DASHBOARDS.glob("*.json")):
        name = config_map_name(file)
        body = {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"grafana_dashboard": "1", "app.kubernetes.io/managed-by": "cdk-mlops"}},
            "data": {file.name: file.read_text()},
        }
        base = f"/api/v1/namespaces/{namespace}/configmaps"
        status = api("PUT", f"{base}/{name}", body)
        if status == 404:
            status = api("POST", base, body)
        print(f"{name}: HTTP {status}", flush=True)
        published += status in (200, 201)
    return published


if __name__ == "__main__":
    ns = (SA / "namespace").read_text().strip()
    while True:
        if DASHBOARDS.is_dir():
            publish_once(ns)
        time.sleep(INTERVAL)
