"""``ganzoo serve``: the Open Inference Protocol v2 driven by the stock tritonclient, batching, limits, bad input."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton_http
import uvicorn
from click.testing import CliRunner
from PIL import Image
from starlette.testclient import TestClient

import ganzoo
from ganzoo.exporters.onnx import export_onnx
from ganzoo.exporters.runtime import OnnxGenerator
from ganzoo.exporters.server import create_app, model_names

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    faces = export_onnx(ganzoo.create("dcgan", seed=0, **TINY), folder / "faces.onnx").path
    points = export_onnx(ganzoo.create("mlp", seed=0, z_dim=2), folder / "points.onnx").path
    return {"faces": OnnxGenerator(faces), "points": OnnxGenerator(points)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(app):
    """``app`` served by a real uvicorn server on 127.0.0.1 in a thread; yields its ``host:port``."""
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(onnx_models):
    """A real server over the module's models; a generous queue delay makes batching observable."""
    app = create_app(onnx_models, max_batch_size=64, max_queue_delay=0.05, max_samples=100)
    with running(app) as address:
        yield address, app


def _z(n: int, seed: int, z_dim: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)


def _infer(client, z: np.ndarray, binary: bool = True, model: str = "faces", output: str = "images") -> np.ndarray:
    inp = triton_http.InferInput("z", list(z.shape), "FP32")
    inp.set_data_from_numpy(z, binary_data=binary)
    out = triton_http.InferRequestedOutput(output, binary_data=binary)
    result = client.infer(model, [inp], outputs=[out])
    return result.as_numpy(out.name())


def test_stock_tritonclient_gets_the_same_images_as_onnx_generator(server, onnx_models):
    url, _ = server
    client = triton_http.InferenceServerClient(url)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("faces")
    meta = client.get_model_metadata("faces")
    assert meta["inputs"] == [{"name": "z", "datatype": "FP32", "shape": [-1, 8]}]
    assert meta["outputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 3, 16, 16]}]
    assert meta["platform"] == "onnxruntime_onnx"
    assert client.get_server_metadata()["name"] == "ganzoo"
    z = _z(5, seed=1)
    want = onnx_models["faces"].run(z)
    np.testing.assert_array_equal(_infer(client, z, binary=True), want)  # tritonclient's default: binary tensors
    np.testing.assert_array_equal(_infer(client, z, binary=False), want)  # plain JSON tensors
    points = _infer(client, _z(3, seed=2, z_dim=2), model="points", output="samples")
    np.testing.assert_array_equal(points, onnx_models["points"].run(_z(3, seed=2, z_dim=2)))


def test_concurrent_requests_are_batched_and_each_caller_gets_its_own(server, onnx_models):
    url, app = server
    batcher = app.state.models["faces"].batcher
    before_batches, before_samples = batcher.batches, batcher.samples
    requests = [_z(n, seed=100 + i) for i, n in enumerate([1, 2, 3, 4, 5, 6, 7, 8])]

    def call(z):
        client = triton_http.InferenceServerClient(url)
        return _infer(client, z)

    with ThreadPoolExecutor(len(requests)) as pool:
        results = list(pool.map(call, requests))
    for z, got in zip(requests, results, strict=True):
        np.testing.assert_array_equal(got, onnx_models["faces"].run(z))
    assert batcher.samples - before_samples == sum(len(z) for z in requests)
    assert batcher.batches - before_batches < len(requests)  # some requests shared an ONNX Runtime call


def test_health_reports_providers_in_use(server):
    url, _ = server
    ready = httpx.get(f"http://{url}/v2/health/ready").json()
    assert ready["ready"] is True
    assert ready["models"]["faces"]["providers"] == ["CPUExecutionProvider"]
    assert httpx.get(f"http://{url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"http://{url}/v2/models/faces/versions/1/ready").json()["ready"] is True


def test_png_endpoint_and_index_page(server, onnx_models):
    url, _ = server
    response = httpx.get(f"http://{url}/sample/faces.png", params={"n": 4, "seed": 0})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    grid = np.asarray(Image.open(io.BytesIO(response.content)))
    assert grid.shape == (2 + 2 * 18, 2 + 2 * 18, 3)  # 2x2 tiles of 16 px with 2 px padding
    first = onnx_models["faces"].sample(4, seed=0)[0]
    np.testing.assert_array_equal(grid[2:18, 2:18], first)
    page = httpx.get(f"http://{url}/").text
    assert "/sample/faces.png?n=16&amp;seed=0" in page and "points" not in page


@pytest.fixture
def client(onnx_models):
    app = create_app(onnx_models, max_batch_size=8, max_queue_delay=0.0, max_samples=10)
    with TestClient(app) as c:
        yield c


def _body(z, name="z", datatype="FP32", **extra):
    return {
        "inputs": [{"name": name, "shape": list(np.shape(z)), "datatype": datatype, "data": np.ravel(z).tolist()}]
    } | extra


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (_body(_z(11, 0)), 400, "at most 10"),
        (_body(_z(2, 0)[:, :5]), 400, "shape [n, 8]"),
        (_body(_z(2, 0), datatype="FP64"), 400, "must be FP32"),
        (_body(_z(2, 0), datatype="COMPLEX"), 400, "unsupported datatype"),
        (_body(_z(2, 0), name="latent"), 400, "takes inputs ['z']"),
        ({"inputs": [{"name": "z", "shape": [2, 8], "datatype": "FP32", "data": [1.0, 2.0]}]}, 400, "does not fit"),
        ({"inputs": [{"name": "z", "shape": [0, 8], "datatype": "FP32", "data": []}]}, 400, "empty"),
        ({"inputs": [{"name": "z", "shape": "2x8", "datatype": "FP32", "data": []}]}, 400, "'shape' must be"),
        (_body(_z(2, 0), outputs=[{"name": "pixels"}]), 400, "one output, 'images'"),
        ({"inputs": "z"}, 400, "malformed"),
        ([1, 2], 400, "malformed"),
    ],
)
def test_bad_requests_get_a_4xx_json_error_and_the_server_keeps_serving(client, body, status, message):
    response = client.post("/v2/models/faces/infer", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.post("/v2/models/faces/infer", json=_body(_z(2, 0))).status_code == 200


def test_malformed_json_unknown_model_and_bad_binary_header(client):
    response = client.post("/v2/models/faces/infer", content=b"{not json")
    assert response.status_code == 400 and "malformed" in response.json()["error"]
    response = client.post("/v2/models/nope/infer", json=_body(_z(1, 0)))
    assert response.status_code == 404 and "serving ['faces', 'points']" in response.json()["error"]
    assert client.get("/v2/models/faces/versions/2").status_code == 404
    head = json.dumps(
        {"inputs": [{"name": "z", "shape": [1, 8], "datatype": "FP32", "parameters": {"binary_data_size": 64}}]}
    )
    response = client.post(
        "/v2/models/faces/infer",
        content=head.encode() + b"\0" * 8,
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
    assert response.status_code == 400 and "runs past the request body" in response.json()["error"]
    response = client.get("/sample/faces.png", params={"n": "many"})
    assert response.status_code == 400 and "integers" in response.json()["error"]
    assert client.get("/sample/points.png").status_code == 400
    assert client.get("/v2/health/ready").status_code == 200


def test_seeded_requests_without_inputs(client, onnx_models):
    """ganzoo extension: parameters {n, seed} instead of a z tensor give OnnxGenerator.sample(n, seed)'s images."""
    response = client.post("/v2/models/faces/infer", json={"inputs": [], "parameters": {"n": 3, "seed": 5}})
    assert response.status_code == 200
    out = response.json()["outputs"][0]
    images = np.asarray(out["data"], np.float32).reshape(out["shape"])
    np.testing.assert_array_equal(images, onnx_models["faces"].sample(3, seed=5, output="raw"))


def test_model_names_from_arguments():
    assert model_names(["faces=out/model.onnx", "runs/ring8", "x/points.onnx"]) == {
        "faces": "out/model.onnx",
        "ring8": "runs/ring8",
        "points": "x/points.onnx",
    }
    with pytest.raises(ValueError, match="two models are named"):
        model_names(["a/model.onnx", "b/model.onnx"])


def test_ganzoo_serve_command_binds_loopback_and_serves(onnx_models):
    """`ganzoo serve NAME=FILE` in its own process: health, inference, and a clean stop."""
    import subprocess
    import sys

    port = _free_port()
    path = onnx_models["faces"].path
    cmd = [sys.executable, "-m", "ganzoo.cli", "serve", f"tiny={path}", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "ganzoo serve did not come up"
            time.sleep(0.1)
        client = triton_http.InferenceServerClient(f"127.0.0.1:{port}")
        z = _z(2, seed=3)
        np.testing.assert_array_equal(_infer(client, z, model="tiny"), onnx_models["faces"].run(z))
        # bound to 127.0.0.1 only: another loopback address (Linux routes all of 127/8 to lo) is refused
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{port}/v2/health/live", timeout=2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _serve_folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("ganzoo-serve-*"))


def test_serve_removes_its_temporary_exports_on_shutdown(tmp_path):
    """`ganzoo serve FOLDER` exports into a temporary folder; SIGTERM (kill, docker stop) removes it."""
    import os
    import subprocess
    import sys

    ganzoo.create("dcgan", seed=0, **TINY).save(tmp_path / "g")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = _free_port()
    cmd = [sys.executable, "-m", "ganzoo", "serve", f"tiny={tmp_path / 'g'}", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "TMPDIR": str(tmp)}
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "ganzoo serve did not come up"
            time.sleep(0.2)
        assert len(_serve_folders(tmp)) == 1  # the export lives there while the server runs
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert _serve_folders(tmp) == [], output


def test_serve_removes_its_temporary_exports_when_start_up_fails(tmp_path, monkeypatch):
    """A model that fails to load after another was exported: one clear line, and no folder left behind."""
    import tempfile

    from ganzoo.cli import main

    ganzoo.create("dcgan", seed=0, **TINY).save(tmp_path / "g")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    result = CliRunner().invoke(main, ["serve", f"good={tmp_path / 'g'}", f"bad={tmp_path / 'nope'}"])
    assert result.exit_code == 1 and "no such" in result.output and "Traceback" not in result.output
    assert "exporting" in result.output  # the first model was exported before the second failed
    assert _serve_folders(tmp) == []


def test_tritonclient_sends_labels_and_codes(tmp_path):
    """Class-conditional (labels, INT64) and InfoGAN (z, code, continuous) models serve stock tritonclient calls;
    a label out of range is a 4xx the client reports."""
    small = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}
    models = {
        "cgan": OnnxGenerator(export_onnx(ganzoo.create("cgan", seed=0, **small), tmp_path / "c.onnx").path),
        "info": OnnxGenerator(export_onnx(ganzoo.create("infogan", seed=0, **small), tmp_path / "i.onnx").path),
    }
    app = create_app(models, max_batch_size=16, max_queue_delay=0.01, max_samples=100)
    with running(app) as address:
        client = triton_http.InferenceServerClient(address)
        meta = client.get_model_metadata("cgan")
        assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [("z", "FP32"), ("labels", "INT64")]
        z, labels = _z(4, seed=3), np.array([0, 3, 9, 3], dtype=np.int64)
        inputs = [triton_http.InferInput("z", [4, 8], "FP32"), triton_http.InferInput("labels", [4], "INT64")]
        inputs[0].set_data_from_numpy(z)
        inputs[1].set_data_from_numpy(labels)
        got = client.infer("cgan", inputs).as_numpy("images")
        np.testing.assert_array_equal(got, models["cgan"].run(z, labels))
        inputs[1].set_data_from_numpy(np.array([0, 3, 10, 3], dtype=np.int64))
        with pytest.raises(Exception, match=r"labels"):
            client.infer("cgan", inputs)
        # InfoGAN: every code is an input
        codes = {"code": np.array([1, 2], dtype=np.int64), "continuous": np.zeros((2, 2), np.float32)}
        z2 = _z(2, seed=4)
        parts = [triton_http.InferInput("z", [2, 8], "FP32")]
        parts[0].set_data_from_numpy(z2)
        for name, value in codes.items():
            part = triton_http.InferInput(name, list(value.shape), "INT64" if value.dtype == np.int64 else "FP32")
            part.set_data_from_numpy(value)
            parts.append(part)
        got = client.infer("info", parts).as_numpy("images")
        np.testing.assert_array_equal(got, models["info"].run(z2, None, codes))


def test_tritonclient_translates_with_pix2pix_and_both_cyclegan_directions(tmp_path):
    """Image tensors in, images_out back, from stock tritonclient: a grey -> colour pix2pix and each exported
    CycleGAN direction; a tensor of the wrong channel count is a 4xx the client reports."""
    from ganzoo.exporters.runtime import OnnxTranslator

    p2p = ganzoo.create("pix2pix", seed=0, image_size=32, in_channels=1, channels=3, g_width=4, d_width=4, depth=5)
    cycle = ganzoo.create(
        "cyclegan", seed=0, image_size=16, channels=1, in_channels=1, g_width=4, d_width=4, blocks=1, d_layers=2
    )
    models = {
        "colorize": OnnxTranslator(export_onnx(p2p, tmp_path / "p.onnx").path),
        "a2b": OnnxTranslator(export_onnx(cycle, tmp_path / "a2b.onnx", direction="a2b").path),
        "b2a": OnnxTranslator(export_onnx(cycle, tmp_path / "b2a.onnx", direction="b2a").path),
    }
    rng = np.random.default_rng(0)
    with running(create_app(models, max_batch_size=8, max_queue_delay=0.0)) as address:
        client = triton_http.InferenceServerClient(address)
        cases = [
            ("colorize", p2p, None, (3, 1, 32, 32)),
            ("a2b", cycle, "a2b", (2, 1, 16, 16)),
            ("b2a", cycle, "b2a", (2, 1, 16, 16)),
        ]
        for name, model, direction, shape in cases:
            x = rng.uniform(-1, 1, shape).astype(np.float32)
            part = triton_http.InferInput("images", list(shape), "FP32")
            part.set_data_from_numpy(x)
            got = client.infer(name, [part]).as_numpy("images_out")
            want = model.translate(x, direction=direction, output="raw").numpy()
            np.testing.assert_allclose(got, want, atol=1e-5)
        part = triton_http.InferInput("images", [1, 3, 32, 32], "FP32")
        part.set_data_from_numpy(np.zeros((1, 3, 32, 32), np.float32))
        with pytest.raises(Exception, match=r"images"):
            client.infer("colorize", [part])
