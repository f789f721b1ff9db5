"""``ganzoo serve`` under load: many concurrent clients, JSON and binary requests, every reply checked bit-exactly.

One run:

1. exports a generator to ONNX (default: the bundled zoo model ``dcgan-celeba``, 64×64 faces);
2. starts the real server, ``python -m ganzoo.cli serve`` in its own process on 127.0.0.1, with its default limits;
3. runs ``--clients`` concurrent clients (threads, each with its own kept-alive connection) for ``--seconds``:
   client ``c`` sends request ``i`` with the seeded latents ``default_rng([c, i])`` (``--n`` samples), as JSON
   tensors (even clients) or binary tensors with a binary reply (odd clients), and records its latency, status and
   a SHA-256 of the images it got back;
4. polls the server's resident memory (``/proc/<pid>/status``: VmRSS, and VmHWM at the end);
5. stops the server, then recomputes every request's images with an in-process ``OnnxGenerator`` on the same
   latents and counts the replies that are bit-identical. (Checked after the load, not inside the clients: on a
   small machine the check would take CPU from the server and change what is measured.)

It reports requests, errors (by status), images/s, p50/p99 latency and the server's peak RSS, and writes JSON.
The clients run on the same machine as the server, so their JSON parsing competes with it for the cores.

Run from the repository root::

    python benchmarks/serve_load.py                          # 64 clients, 60 s
    python benchmarks/serve_load.py --clients 8 --seconds 5  # a quick look
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_dcgan import cpu_name, logical_cpus

HEADER_LENGTH = "Inference-Header-Content-Length"
RESULTS = Path(__file__).resolve().parent / "results" / "serve_load.json"


@dataclass
class Record:
    """One request as a client saw it."""

    client: int
    index: int
    kind: str  # "json" or "binary"
    status: int  # HTTP status; 0 for a transport error (refused, reset, timed out)
    latency_s: float
    digest: str  # SHA-256 of the returned float32 images (C order), "" on error
    error: str = ""


def latents(client: int, index: int, n: int, z_dim: int) -> np.ndarray:
    """The seeded latents of request ``index`` of ``client`` (recomputed for the check)."""
    return np.random.default_rng([client, index]).standard_normal((n, z_dim), dtype=np.float32)


def digest(images: np.ndarray) -> str:
    """SHA-256 of float32 images in C order: equal digests, bit-identical images."""
    return hashlib.sha256(np.ascontiguousarray(images, dtype="<f4").tobytes()).hexdigest()


def json_request(z: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """A plain JSON infer request (float32 -> JSON double -> float32 is exact)."""
    body = {"inputs": [{"name": "z", "shape": list(z.shape), "datatype": "FP32", "data": z.ravel().tolist()}]}
    return json.dumps(body).encode(), {"content-type": "application/json"}


def binary_request(z: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """A binary-tensor request asking for a binary reply, as tritonclient sends by default."""
    raw = z.astype("<f4").tobytes()
    head = json.dumps(
        {
            "inputs": [
                {"name": "z", "shape": list(z.shape), "datatype": "FP32", "parameters": {"binary_data_size": len(raw)}}
            ],
            "outputs": [{"name": "images", "parameters": {"binary_data": True}}],
        }
    ).encode()
    return head + raw, {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(head))}


def decode_reply(response: httpx.Response) -> np.ndarray:
    """The images of an infer reply, JSON or binary."""
    content = response.content
    length = response.headers.get(HEADER_LENGTH)
    head = json.loads(content[: int(length)] if length else content)
    output = head["outputs"][0]
    if length:
        return np.frombuffer(content[int(length) :], dtype="<f4").reshape(output["shape"])
    return np.asarray(output["data"], dtype=np.float32).reshape(output["shape"])


def run_client(
    url: str, client: int, n: int, z_dim: int, deadline: float, records: list[Record], lock: threading.Lock
) -> None:
    """Send requests one after another until ``deadline``; JSON for even clients, binary for odd ones."""
    kind = "json" if client % 2 == 0 else "binary"
    encode = json_request if kind == "json" else binary_request
    index = 0
    with httpx.Client(timeout=120) as http:
        while time.monotonic() < deadline:
            body, headers = encode(latents(client, index, n, z_dim))
            started = time.perf_counter()
            try:
                response = http.post(url, content=body, headers=headers)
                latency = time.perf_counter() - started
                if response.status_code == 200:
                    record = Record(client, index, kind, 200, latency, digest(decode_reply(response)))
                else:
                    record = Record(client, index, kind, response.status_code, latency, "", response.text[:200])
            except httpx.HTTPError as exc:
                record = Record(client, index, kind, 0, time.perf_counter() - started, "", repr(exc)[:200])
            with lock:
                records.append(record)
            index += 1


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB, from /proc (Linux)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def poll_memory(pid: int, stop: threading.Event, samples: list[int], every: float = 0.25) -> None:
    """Sample the server's VmRSS until ``stop`` is set."""
    while not stop.is_set():
        try:
            samples.append(memory_kb(pid)["VmRSS"])
        except (OSError, KeyError):
            return
        stop.wait(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(onnx_path: Path, extra: list[str]) -> tuple[subprocess.Popen, int]:
    """``ganzoo serve`` in its own process; returns it and its port once it is ready."""
    port = free_port()
    cmd = [sys.executable, "-m", "ganzoo.cli", "serve", f"faces={onnx_path}", "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ganzoo serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("ganzoo serve did not become ready in 120 s")


def check_bit_exact(onnx_path: Path, records: list[Record], n: int, z_dim: int) -> dict[str, int]:
    """Recompute each answered request's images in-process on the same latents; count the identical ones."""
    from ganzoo.exporters.runtime import OnnxGenerator

    reference = OnnxGenerator(onnx_path)
    answered = [r for r in records if r.status == 200]
    equal = sum(digest(reference.run(latents(r.client, r.index, n, z_dim))) == r.digest for r in answered)
    return {"checked": len(answered), "bit_exact": equal}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summarise(records: list[Record], seconds: float, n: int) -> dict[str, Any]:
    """Requests, errors by status, images/s and latency percentiles, overall and per request kind."""
    ok = [r for r in records if r.status == 200]
    errors: dict[str, int] = {}
    for r in records:
        if r.status != 200:
            errors[str(r.status)] = errors.get(str(r.status), 0) + 1
    latency = [r.latency_s for r in ok]
    by_kind = {
        kind: {
            "requests": len(rows),
            "p50_s": round(percentile([r.latency_s for r in rows], 50), 3),
            "p99_s": round(percentile([r.latency_s for r in rows], 99), 3),
        }
        for kind in ("json", "binary")
        if (rows := [r for r in ok if r.kind == kind])
    }
    return {
        "requests": len(records),
        "ok": len(ok),
        "errors": sum(errors.values()),
        "errors_by_status": errors,
        "error_examples": sorted({r.error for r in records if r.error})[:5],
        "images": len(ok) * n,
        "images_per_s": round(len(ok) * n / seconds, 1),
        "latency_p50_s": round(percentile(latency, 50), 3),
        "latency_p99_s": round(percentile(latency, 99), 3),
        "latency_mean_s": round(statistics.fmean(latency), 3) if latency else None,
        "latency_max_s": round(max(latency), 3) if latency else None,
        "by_kind": by_kind,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dcgan-celeba", help="zoo name, saved folder, or an .onnx file")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--n", type=int, default=16, help="samples per request")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the report")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra `ganzoo serve` argument (repeat)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        if str(args.model).endswith(".onnx"):
            onnx_path, export_s = Path(args.model), 0.0
        else:
            import ganzoo

            started = time.perf_counter()
            onnx_path = ganzoo.export(args.model, Path(tmp) / "model.onnx")
            export_s = time.perf_counter() - started
        from ganzoo.exporters.runtime import OnnxGenerator

        z_dim = OnnxGenerator(onnx_path).z_dim
        proc, port = start_server(onnx_path, args.serve_arg)
        url = f"http://127.0.0.1:{port}/v2/models/faces/infer"
        samples: list[int] = []
        stop = threading.Event()
        try:
            start_kb = memory_kb(proc.pid)["VmRSS"]
            watcher = threading.Thread(target=poll_memory, args=(proc.pid, stop, samples), daemon=True)
            watcher.start()
            records: list[Record] = []
            lock = threading.Lock()
            started = time.monotonic()
            deadline = started + args.seconds
            threads = [
                threading.Thread(target=run_client, args=(url, c, args.n, z_dim, deadline, records, lock))
                for c in range(args.clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started  # includes the requests in flight at the deadline
            end = memory_kb(proc.pid)
            stop.set()
            watcher.join()
        finally:
            stop.set()
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        check = check_bit_exact(onnx_path, records, args.n, z_dim)

    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu": cpu_name(),
        "logical_cpus": logical_cpus(),
        "model": str(args.model),
        "export_s": round(export_s, 1),
        "server_command": " ".join(["python", "-m", "ganzoo.cli", "serve", "faces=MODEL.onnx", *args.serve_arg]),
        "clients": args.clients,
        "seconds": args.seconds,
        "elapsed_s": round(elapsed, 2),
        "samples_per_request": args.n,
        **summarise(records, elapsed, args.n),
        **check,
        "server_rss_mb": {
            "start": round(start_kb / 1024, 1),
            "peak_polled": round(max(samples, default=start_kb) / 1024, 1),
            "end": round(end["VmRSS"] / 1024, 1),
            "hwm": round(end["VmHWM"] / 1024, 1),
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
