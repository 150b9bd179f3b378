"""Latency of one prediction through `mlflow models serve` on the CPU, after start-up.

Starts `mlflow models serve -m MODEL --env-manager local` (the tracking store from
``MLFLOW_TRACKING_URI``, e.g. sqlite:///$HOME/.dlstudio/mlflow.db), waits until it answers, sends
one warm-up request, then ``--repeats`` requests of one row each, one after the other, and
prints the median and 90th percentile in milliseconds (the whole HTTP round trip).

    MLFLOW_TRACKING_URI=sqlite:///$HOME/.dlstudio/mlflow.db \\
      .venv/bin/python bench/serve_latency.py models:/photos@champion --image photo.jpg
    .venv/bin/python bench/serve_latency.py models:/reviews@champion --text "Love it" \\
      --column text
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, payload: dict) -> float:
    """Milliseconds for one request."""
    request = urllib.request.Request(f"{url}/invocations", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()
    return 1000 * (time.perf_counter() - started)


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"mlflow models serve stopped (exit {server.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise SystemExit("mlflow models serve did not answer in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model URI, e.g. models:/photos@champion")
    parser.add_argument("--image", type=Path, help="an image file to classify")
    parser.add_argument("--text", help="a sentence to label")
    parser.add_argument("--column", default="text", help="--text: the model's text column")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    if args.image:
        row = {"image": base64.b64encode(args.image.read_bytes()).decode()}
    elif args.text:
        row = {args.column: args.text}
    else:
        raise SystemExit("give --image FILE or --text SENTENCE")
    payload = {"dataframe_records": [row]}
    port = free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    mlflow = str(Path(sys.executable).parent / "mlflow")
    server = subprocess.Popen(
        [mlflow, "models", "serve", "-m", args.model, "--env-manager", "local", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server)
        post(url, payload)  # the first request loads lazily-imported code
        times = sorted(post(url, payload) for _ in range(args.repeats))
    finally:
        server.terminate()
        server.wait(timeout=30)
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"| {args.model} | {len(times)} | {statistics.median(times):.0f} | {p90:.0f} | "
          f"{os.getloadavg()[0]:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
