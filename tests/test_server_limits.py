"""``ganzoo serve`` against hostile and careless clients: every bad request is a 4xx with a JSON error that names
the problem (never a 5xx), limits are checked before any work, compressed bodies are accepted but bounded, reply
JSON is always valid JSON, and a real uvicorn server drops stalled and idle connections within seconds."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
import tracemalloc
import zlib
from typing import Any

import numpy as np
import pytest
import uvicorn
from starlette.testclient import TestClient

import ganzoo
from ganzoo.exporters.onnx import export_onnx
from ganzoo.exporters.runtime import OnnxGenerator, OnnxTranslator
from ganzoo.exporters.server import create_app, uvicorn_config

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}
P2P_TINY = {"image_size": 32, "in_channels": 1, "channels": 3, "g_width": 4, "d_width": 4, "depth": 5}
MAX_SAMPLES = 10
MAX_BODY = 256 << 10
INFER = "/v2/models/faces/infer"


@pytest.fixture(scope="module")
def onnx_paths(tmp_path_factory):
    """Tiny exported models: an unconditional and a class-conditional generator, and a grey -> colour translator."""
    folder = tmp_path_factory.mktemp("limits")
    return {
        "faces": export_onnx(ganzoo.create("dcgan", seed=0, **TINY), folder / "faces.onnx").path,
        "cgan": export_onnx(ganzoo.create("cgan", seed=0, **TINY), folder / "cgan.onnx").path,
        "colorize": ganzoo.export(ganzoo.create("pix2pix", seed=0, **P2P_TINY), folder / "p2p.onnx"),
    }


def _models(paths: dict[str, Any]) -> dict[str, Any]:
    """Fresh runtimes for the exported files (tests that patch a runtime get their own)."""
    return {
        "faces": OnnxGenerator(paths["faces"]),
        "cgan": OnnxGenerator(paths["cgan"]),
        "colorize": OnnxTranslator(paths["colorize"]),
    }


def _app(paths: dict[str, Any], **options: Any):
    limits = {"max_samples": MAX_SAMPLES, "max_body_bytes": MAX_BODY, "max_upload_bytes": 64 << 10}
    return create_app(_models(paths), max_batch_size=8, max_queue_delay=0.0, **(limits | options))


@pytest.fixture(scope="module")
def client(onnx_paths):
    with TestClient(_app(onnx_paths)) as c:
        yield c


def _z(n: int, seed: int = 0, z_dim: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)


def _input(name: str = "z", shape: Any = None, datatype: Any = "FP32", data: Any = None, **extra: Any) -> dict:
    """One protocol input; by default two valid latents."""
    z = _z(2)
    spec = {
        "name": name,
        "shape": list(z.shape) if shape is None else shape,
        "datatype": datatype,
        "data": z.ravel().tolist() if data is None else data,
    }
    return spec | extra


def _request(*inputs: dict, **extra: Any) -> dict:
    return {"inputs": list(inputs) if inputs else [_input()]} | extra


def _binary(array: np.ndarray, name: str = "z", datatype: str = "FP32", size: Any = None, extra: bytes = b""):
    """(body, headers) of a binary-extension request carrying ``array``."""
    raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
    head = json.dumps(
        {
            "inputs": [
                {
                    "name": name,
                    "shape": list(array.shape),
                    "datatype": datatype,
                    "parameters": {"binary_data_size": len(raw) if size is None else size},
                }
            ]
        }
    ).encode()
    return head + raw + extra, {"Inference-Header-Content-Length": str(len(head))}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# (id, method, path, request keyword arguments, status, what the error must say)
JSON_CASES = [
    # the request's structure
    ("body-list", [1, 2], 400, "expected a JSON object"),
    ("body-string", "z", 400, "got a string"),
    ("inputs-string", {"inputs": "z"}, 400, "'inputs' must be a list"),
    ("inputs-object", {"inputs": {"name": "z"}}, 400, "'inputs' must be a list"),
    ("parameters-list", _request(parameters=[1, 2]), 400, "the request: 'parameters' must be a JSON object"),
    ("parameters-string", _request(parameters="binary"), 400, "'parameters' must be a JSON object, got a string"),
    ("parameters-number", _request(parameters=3), 400, "'parameters' must be a JSON object, got a number"),
    ("input-parameters-list", _request(_input(parameters=[1])), 400, "input 'z': 'parameters' must be"),
    ("input-parameters-string", _request(_input(parameters="x")), 400, "input 'z': 'parameters' must be"),
    ("output-parameters-list", _request(outputs=[{"name": "images", "parameters": []}]), 400, "output 'images'"),
    ("output-parameters-string", _request(outputs=[{"name": "images", "parameters": "b"}]), 400, "output 'images'"),
    ("outputs-object", _request(outputs={"name": "images"}), 400, "'outputs' must be a list"),
    ("outputs-string", _request(outputs="images"), 400, "'outputs' must be a list"),
    ("outputs-item-string", _request(outputs=["images"]), 400, "outputs[0] must be an object"),
    ("outputs-item-nameless", _request(outputs=[{"binary_data": True}]), 400, "outputs[0] must be an object"),
    ("outputs-unknown", _request(outputs=[{"name": "pixels"}]), 400, "one output, 'images'"),
    ("id-number", _request(id=7), 400, "'id' must be a string"),
    ("id-object", _request(id={"a": 1}), 400, "'id' must be a string, got an object"),
    ("binary-output-string", _request(parameters={"binary_data_output": "yes"}), 400, "must be true or false"),
    ("binary-data-number", _request(outputs=[{"name": "images", "parameters": {"binary_data": 1}}]), 400, "true or"),
    # each input's header
    ("input-string", {"inputs": ["z"]}, 400, "inputs[0] must be an object"),
    ("input-nameless", {"inputs": [{"shape": [1, 8], "datatype": "FP32", "data": [0] * 8}]}, 400, "inputs[0]"),
    ("input-name-number", _request(_input(name=5)), 400, "inputs[0] must be an object with a string 'name'"),
    ("datatype-unknown", _request(_input(datatype="COMPLEX")), 400, "unsupported datatype 'COMPLEX'"),
    ("datatype-missing", _request(_input(datatype=None)), 400, "unsupported datatype None"),
    ("datatype-lowercase", _request(_input(datatype="fp32")), 400, "unsupported datatype 'fp32'"),
    ("datatype-list", _request(_input(datatype=["FP32"])), 400, "unsupported datatype"),
    ("shape-string", _request(_input(shape="2x8")), 400, "'shape' must be a list"),
    ("shape-negative", _request(_input(shape=[-2, 8])), 400, "non-negative integers"),
    ("shape-float", _request(_input(shape=[2.0, 8])), 400, "non-negative integers"),
    ("shape-bool", _request(_input(shape=[True, 8])), 400, "non-negative integers"),
    ("shape-too-many-dims", _request(_input(shape=[1] * 9 + [16], data=[0.0] * 16)), 400, "at most 8"),
    ("shape-missing", {"inputs": [{"name": "z", "datatype": "FP32", "data": [0.0] * 16}]}, 400, "'shape' must be"),
    ("shape-huge", _request(_input(shape=[2, 2**62])), 400, "does not fit shape"),
    ("no-data", {"inputs": [{"name": "z", "shape": [2, 8], "datatype": "FP32"}]}, 400, "neither 'data' nor"),
    # the data
    ("data-string", _request(_input(data="0.1 0.2")), 400, "'data' must be a list of numbers, got a string"),
    ("data-object", _request(_input(data={"0": 1.0})), 400, "'data' must be a list of numbers, got an object"),
    ("data-too-few", _request(_input(data=[1.0, 2.0])), 400, "2 values for 16"),
    ("data-too-many", _request(_input(data=[1.0] * 17)), 400, "17 values for 16"),
    ("data-boolean", _request(_input(data=[True] + [0.0] * 15)), 400, "holds a boolean"),
    ("data-all-booleans", _request(_input(data=[False] * 16)), 400, "holds a boolean"),
    ("data-null", _request(_input(data=[None] + [0.0] * 15)), 400, "holds null"),
    ("data-string-item", _request(_input(data=["0.5"] + [0.0] * 15)), 400, "holds a string"),
    ("data-object-item", _request(_input(data=[{}] + [0.0] * 15)), 400, "holds an object"),
    ("data-nested-wrong-shape", _request(_input(data=[[0.0] * 4] * 4)), 400, "nested 'data' has shape [4, 4]"),
    ("data-nested-ragged", _request(_input(data=[[0.0] * 7, [0.0] * 9])), 400, "ragged"),
    ("data-nested-mixed", _request(_input(data=[[0.0] * 8, 0.0])), 400, "ragged or mixes"),
    ("data-number-then-list", _request(_input(data=[0.0] * 15 + [[0.0]])), 400, "holds a list"),
    ("data-fp32-overflow", _request(_input(data=[1e39] + [0.0] * 15)), 400, "outside FP32's range"),
    ("data-fp32-negative-overflow", _request(_input(data=[-1e39] + [0.0] * 15)), 400, "outside FP32's range"),
    ("data-big-integer", _request(_input(data=[10**4000] + [0.0] * 15)), 400, "outside FP32's range"),
    ("data-fp64-latents", _request(_input(datatype="FP64")), 400, "must be FP32"),
    # what the model takes
    ("duplicate-inputs", _request(_input(), _input()), 400, "two inputs are named 'z'"),
    ("wrong-input-name", _request(_input(name="latent")), 400, "takes inputs ['z']"),
    ("extra-input", _request(_input(), _input(name="labels", datatype="INT64", shape=[2], data=[0, 1])), 400, "takes"),
    ("wrong-z-width", _request(_input(shape=[2, 5], data=[0.0] * 10)), 400, "shape [n, 8]"),
    ("too-many-samples", _request(_input(shape=[11, 8], data=[0.0] * 88)), 400, "at most 10"),
    ("empty-batch", _request(_input(shape=[0, 8], data=[])), 400, "empty"),
    # the seeded extension: n and seed are checked before a latent is drawn
    ("seeded-n-huge", {"inputs": [], "parameters": {"n": 10**9}}, 400, "'n' must be an integer in [1, 10]"),
    ("seeded-n-zero", {"inputs": [], "parameters": {"n": 0}}, 400, "'n' must be an integer in [1, 10]"),
    ("seeded-n-negative", {"inputs": [], "parameters": {"n": -5}}, 400, "'n' must be an integer in [1, 10]"),
    ("seeded-n-word", {"inputs": [], "parameters": {"n": "lots"}}, 400, "must be integers, got n='lots'"),
    ("seeded-n-bool", {"inputs": [], "parameters": {"n": True}}, 400, "must be integers, got n=True"),
    ("seeded-n-float", {"inputs": [], "parameters": {"n": 2.5}}, 400, "must be integers, got n=2.5"),
    ("seeded-seed-negative", {"inputs": [], "parameters": {"n": 2, "seed": -1}}, 400, "'seed' must be an integer in"),
    ("seeded-seed-2**63", {"inputs": [], "parameters": {"n": 2, "seed": 2**63}}, 400, "'seed' must be an integer in"),
    ("seeded-seed-list", {"inputs": [], "parameters": {"n": 2, "seed": [1]}}, 400, "must be integers, got seed="),
]

RAW_CASES = [
    ("malformed-json", b"{not json", {}, 400, "malformed request"),
    ("empty-body", b"", {}, 400, "malformed request"),
    ("body-null", b"null", {}, 400, "got null"),
    ("utf16-body", json.dumps(_request()).encode("utf-16"), {}, 400, "not UTF-8"),
    ("utf8-bom", b"\xef\xbb\xbf" + json.dumps(_request()).encode(), {}, 400, "malformed request"),
    ("nan-literal", b'{"inputs": [{"name": "z", "shape": [1, 1], "datatype": "FP32", "data": [NaN]}]}', {}, 400, "NaN"),
    ("infinity-literal", b'{"inputs": [], "parameters": {"n": Infinity}}', {}, 400, "Infinity is not a JSON number"),
    ("minus-infinity", b'{"inputs": [{"name":"z","shape":[1],"datatype":"FP32","data":[-Infinity]}]}', {}, 400, "Inf"),
    ("1e400", b'{"inputs": [{"name": "z", "shape": [1, 1], "datatype": "FP32", "data": [1e400]}]}', {}, 400, "range"),
    ("5000-digit-integer", b'{"inputs": [], "parameters": {"n": ' + b"9" * 5000 + b"}}", {}, 400, "4300"),
    ("deep-100000", _deep(100_000).encode(), {}, 400, "nested deeper than"),
    ("deep-40", json.dumps(_request(parameters={"a": json.loads(_deep(40))})).encode(), {}, 400, "deeper than 32"),
    ("header-length-word", b"{}", {"Inference-Header-Content-Length": "abc"}, 400, "must be an integer"),
    ("header-length-zero", b"{}", {"Inference-Header-Content-Length": "0"}, 400, "outside the body"),
    ("header-length-past", b"{}", {"Inference-Header-Content-Length": "99"}, 400, "outside the body"),
    ("binary-size-negative", *_binary(_z(1), size=-32), 400, "must be a byte count"),
    ("binary-size-string", *_binary(_z(1), size="32"), 400, "must be a byte count"),
    ("binary-size-bool", *_binary(_z(1), size=True), 400, "must be a byte count"),
    ("binary-size-mismatch", *_binary(_z(1), size=16, extra=b""), 400, "does not match shape [1, 8]"),
    ("binary-size-past-end", *_binary(_z(1), size=64), 400, "runs past the request body"),
    ("binary-trailing-bytes", *_binary(_z(1), extra=b"\0" * 8), 400, "8 bytes of binary data after"),
    ("binary-nan", *_binary(np.full((1, 8), np.nan, np.float32)), 400, "NaN or infinite"),
    ("binary-inf", *_binary(np.full((1, 8), -np.inf, np.float32)), 400, "refuses non-finite inputs"),
    ("gzip-garbage", b"not gzip at all", {"Content-Encoding": "gzip"}, 400, "cannot be decompressed"),
    (
        "gzip-truncated",
        gzip.compress(json.dumps(_request()).encode())[:-12],
        {"Content-Encoding": "gzip"},
        400,
        "trunc",
    ),
    ("deflate-garbage", b"\x78\x9c garbage", {"Content-Encoding": "deflate"}, 400, "cannot be decompressed"),
    ("brotli", b"{}", {"Content-Encoding": "br"}, 415, "not supported; send the body uncompressed, or with gzip"),
    ("two-codings", b"{}", {"Content-Encoding": "gzip, gzip"}, 415, "not supported"),
    ("body-too-large", b" " * (MAX_BODY + 1), {}, 413, f"at most {MAX_BODY}"),
]

UINT8 = {"name": "images", "shape": [1, 32, 32, 1], "datatype": "UINT8"}
CGAN, COLOR, UPLOAD = "/v2/models/cgan/infer", "/v2/models/colorize/infer", "/v2/models/colorize/translate.png"


def _labels(data: list) -> dict:
    """A cgan request: two latents and ``data`` as their labels."""
    return {"json": _request(_input(), _input("labels", [2], "INT64", data))}


def _images(data: list, **spec: Any) -> dict:
    """A translator request with one image input (UINT8 NHWC unless ``spec`` says otherwise)."""
    return {"json": {"inputs": [UINT8 | {"data": data} | spec]}}


OTHER_CASES = [
    # the class-conditional generator: labels
    ("labels-float", "POST", CGAN, _labels([1.5, 2]), 400, "INT64 'data' must hold integers only"),
    ("labels-bool", "POST", CGAN, _labels([True, 1]), 400, "holds a boolean"),
    ("labels-huge", "POST", CGAN, _labels([10**30, 1]), 400, "outside INT64's range"),
    ("labels-out-of-range", "POST", CGAN, _labels([99, 1]), 400, "labels"),
    # the translator: images
    ("uint8-negative", "POST", COLOR, _images([-1] + [0] * 1023), 400, "-1 is outside UINT8's range [0, 255]"),
    ("uint8-256", "POST", COLOR, _images([256] + [0] * 1023), 400, "outside UINT8's range"),
    ("uint8-float", "POST", COLOR, _images([0.5] + [0] * 1023), 400, "integers only"),
    ("fp32-beyond-1", "POST", COLOR, _images([5.0] * 1024, shape=[1, 1, 32, 32], datatype="FP32"), 400, "[-1,"),
    ("images-wrong-shape", "POST", COLOR, _images([0] * 256, shape=[1, 16, 16, 1]), 400, "must be FP32 [n, 1, 32, 32]"),
    # GET /sample/{name}.png: the query string
    ("png-n-2000000", "GET", "/sample/faces.png?n=2000000", {}, 400, "'n' must be an integer in [1, 10], got 2000000"),
    ("png-n-1e9", "GET", "/sample/faces.png?n=1000000000", {}, 400, "in [1, 10]"),
    ("png-n-negative", "GET", "/sample/faces.png?n=-1", {}, 400, "in [1, 10]"),
    ("png-n-word", "GET", "/sample/faces.png?n=many", {}, 400, "must be integers"),
    ("png-n-exponent", "GET", "/sample/faces.png?n=1e3", {}, 400, "must be integers"),
    ("png-n-5000-digits", "GET", "/sample/faces.png?n=" + "9" * 5000, {}, 400, "must be integers"),
    ("png-seed-negative", "GET", "/sample/faces.png?n=2&seed=-1", {}, 400, "'seed' must be an integer in [0, "),
    ("png-seed-2**64", "GET", f"/sample/faces.png?n=2&seed={2**64}", {}, 400, "'seed' must be an integer in"),
    ("png-seed-word", "GET", "/sample/faces.png?n=2&seed=abc", {}, 400, "got seed='abc'"),
    ("png-label-huge", "GET", f"/sample/cgan.png?n=2&label={10**30}", {}, 400, "label"),
    ("png-label-word", "GET", "/sample/cgan.png?n=2&label=shoe", {}, 400, "label"),
    ("png-label-out-of-range", "GET", "/sample/cgan.png?n=2&label=99", {}, 400, "label"),
    ("png-of-translator", "GET", "/sample/colorize.png", {}, 400, "translates images"),
    ("png-unknown-model", "GET", "/sample/nope.png", {}, 404, "unknown model 'nope'"),
    # POST translate.png: the upload
    ("upload-empty", "POST", UPLOAD, {"content": b""}, 400, "the request body is empty"),
    ("upload-not-image", "POST", UPLOAD, {"content": b"hello"}, 400, "not a PNG or JPEG"),
    ("upload-too-large", "POST", UPLOAD, {"content": b"\0" * (65 << 10)}, 413, "at most 65536"),
    ("upload-multipart", "POST", UPLOAD, {"files": {"f": b"x"}}, 415, "not a form"),
    ("upload-brotli", "POST", UPLOAD, {"content": b"x", "headers": {"Content-Encoding": "br"}}, 415, "Encoding"),
    ("upload-to-generator", "POST", "/v2/models/faces/translate.png", {"content": b"x"}, 400, "generates images"),
    # models and versions
    ("infer-unknown-model", "POST", "/v2/models/nope/infer", {"json": _request()}, 404, "'colorize', 'faces']"),
    ("infer-version-2", "POST", "/v2/models/faces/versions/2/infer", {"json": _request()}, 404, "version 2"),
]  # fmt: skip

CASES = (
    [pytest.param("POST", INFER, {"json": body}, status, msg, id=name) for name, body, status, msg in JSON_CASES]
    + [
        pytest.param("POST", INFER, {"content": content, "headers": headers}, status, msg, id=name)
        for name, content, headers, status, msg in RAW_CASES
    ]
    + [pytest.param(*rest, id=name) for name, *rest in OTHER_CASES]
)


def test_the_suite_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "message"), CASES)
def test_bad_request_is_a_4xx_with_a_json_error_naming_the_problem(client, method, path, kwargs, status, message):
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert isinstance(error, str) and message in error
    assert len(error) < 600  # the error names the problem; it does not echo a huge request back


def test_the_server_keeps_serving_after_the_bad_requests(client):
    for method, path, kwargs, *_ in (p.values for p in CASES):
        client.request(method, path, **kwargs)
    response = client.post(INFER, json=_request(_input(data=_z(2, seed=4).ravel().tolist())))
    assert response.status_code == 200
    np.testing.assert_array_equal(
        np.asarray(response.json()["outputs"][0]["data"], np.float32).reshape(2, 3, 16, 16),
        OnnxGenerator(client.app.state.models["faces"].model.path).run(_z(2, seed=4)),
    )


def test_refused_before_the_body_is_read_closes_the_connection(client):
    """A 413 or 415 comes before the body is read: the rest of it must not be parsed as a next request."""
    response = client.post(INFER, content=b" " * (MAX_BODY + 1))
    assert response.status_code == 413 and response.headers["connection"] == "close"
    response = client.post(INFER, json={"inputs": "z"})  # the body was read: the connection may be reused
    assert response.status_code == 400 and "connection" not in response.headers


def test_nested_data_of_the_declared_shape_is_accepted(client):
    z = _z(2, seed=9)
    response = client.post(INFER, json=_request(_input(data=z.tolist())))
    assert response.status_code == 200
    got = np.asarray(response.json()["outputs"][0]["data"], np.float32)
    np.testing.assert_array_equal(got, client.app.state.models["faces"].model.run(z).ravel())


# -- limits before work ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/sample/faces.png?n=1000000000", {}),
        ("GET", "/sample/faces.png?n=5000000&seed=1", {}),
        ("POST", INFER, {"json": {"inputs": [], "parameters": {"n": 10**9}}}),
        ("POST", INFER, {"json": _request(_input(shape=[10**9, 8], data=[0.0]))}),
    ],
)
def test_the_sample_cap_is_checked_before_any_work(client, method, path, kwargs):
    """n = 10**9 used to draw the latents first (seconds of a blocked event loop, GBs); now it is refused at once."""
    tracemalloc.start()
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 400 and "10" in response.json()["error"]
    assert elapsed < 1.0
    assert peak < 16 << 20  # nothing sized by n was allocated


# -- compressed bodies ----------------------------------------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", _raw_deflate), ("x-gzip", gzip.compress)],
)
def test_gzip_and_deflate_bodies_are_accepted(client, encoding, compress):
    """As tritonclient's request_compression_algorithm sends them; JSON and binary requests alike."""
    z = _z(3, seed=5)
    want = client.app.state.models["faces"].model.run(z)
    body = json.dumps(_request(_input(shape=[3, 8], data=z.ravel().tolist()))).encode()
    response = client.post(INFER, content=compress(body), headers={"Content-Encoding": encoding})
    assert response.status_code == 200, response.text
    got = np.asarray(response.json()["outputs"][0]["data"], np.float32).reshape(want.shape)
    np.testing.assert_array_equal(got, want)
    body, headers = _binary(z)
    response = client.post(INFER, content=compress(body), headers=headers | {"Content-Encoding": encoding})
    assert response.status_code == 200, response.text


def test_a_gzip_bomb_is_refused_with_413_without_inflating_it(client):
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < MAX_BODY
    tracemalloc.start()
    response = client.post(INFER, content=bomb, headers={"Content-Encoding": "gzip"})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 413 and "inflates to over" in response.json()["error"]
    assert peak < 8 * MAX_BODY  # bounded by the limit, not by the 64 MiB it would inflate to


def test_compressed_uploads_are_bounded_too(client):
    response = client.post(
        "/v2/models/colorize/translate.png",
        content=gzip.compress(b"\0" * (1 << 20)),
        headers={"Content-Encoding": "gzip"},
    )
    assert response.status_code == 413


# -- valid JSON, NaN policy -----------------------------------------------------------------------------------


def _strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity, as every non-Python JSON parser does."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} in the reply")

    return json.loads(text, parse_constant=refuse)


def test_model_metadata_states_the_non_finite_policy_and_limits(client):
    params = client.get("/v2/models/faces").json()["parameters"]
    assert params["ganzoo.server.accepts_non_finite"] is False
    assert "500" in params["ganzoo.server.non_finite_outputs"]
    assert params["ganzoo.server.max_samples"] == MAX_SAMPLES
    assert params["ganzoo.server.max_body_bytes"] == MAX_BODY


def test_a_model_that_produces_nan_never_writes_nan_into_json(onnx_paths):
    """Non-finite outputs are refused with a 500 naming the model (the client did nothing wrong), in valid JSON."""
    models = _models(onnx_paths)
    real = models["faces"].run_feeds
    models["faces"].run_feeds = lambda feeds: np.full_like(real(feeds), np.nan)
    with TestClient(create_app(models, max_queue_delay=0.0)) as c:
        for parameters in ({}, {"binary_data_output": True}):
            response = c.post(INFER, json=_request(parameters=parameters))
            assert response.status_code == 500
            assert "produced non-finite values" in _strict_json(response.text)["error"]
        ok = c.post("/v2/models/colorize/infer", json={"inputs": [UINT8 | {"data": [7] * 1024}]})
        assert ok.status_code == 200 and _strict_json(ok.text)["outputs"][0]["shape"] == [1, 3, 32, 32]


def test_replies_are_strict_json(client):
    response = client.post(INFER, json=_request(id="r1"))
    assert response.status_code == 200
    reply = _strict_json(response.text)
    assert reply["id"] == "r1" and np.isfinite(reply["outputs"][0]["data"]).all()


# -- the request timeout --------------------------------------------------------------------------------------


def test_a_request_over_the_request_timeout_gets_a_503(onnx_paths):
    models = _models(onnx_paths)
    real = models["faces"].run_feeds

    def slow(feeds):
        time.sleep(0.6)
        return real(feeds)

    models["faces"].run_feeds = slow
    with TestClient(create_app(models, max_queue_delay=0.0, request_timeout=0.2)) as c:
        started = time.perf_counter()
        response = c.post(INFER, json=_request())
        assert time.perf_counter() - started < 0.55
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert "did not finish within 0.2 s" in response.json()["error"]
        time.sleep(0.5)  # the abandoned batch finishes; the server serves the next request
        models["faces"].run_feeds = real
        assert c.post(INFER, json=_request()).status_code == 200


def test_limits_must_be_positive(onnx_paths):
    models = _models(onnx_paths)
    for bad in (
        {"max_body_bytes": 0},
        {"max_json_depth": 0},
        {"request_timeout": 0},
        {"body_timeout": -1},
        {"max_inflight_bytes": 1 << 20},  # less than one largest body
    ):
        with pytest.raises(ValueError):
            create_app(models, **bad)


# -- a real uvicorn server: stalled and idle connections ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _uvicorn(app, **limits: Any):
    """``app`` on a real uvicorn server configured as ``ganzoo serve`` configures it; yields its port."""
    port = _free_port()
    server = uvicorn.Server(uvicorn_config(app, port=port, log_level="error", **limits))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _exchange(port: int, data: bytes, timeout: float = 4.0) -> tuple[bytes, float, bool]:
    """Send ``data`` on a fresh connection and read until the server closes it (or ``timeout``): (reply, seconds,
    whether the server closed the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        started = time.monotonic()
        if data:
            s.sendall(data)
        reply = b""
        try:
            while chunk := s.recv(65536):
                reply += chunk
        except TimeoutError:
            return reply, time.monotonic() - started, False
        return reply, time.monotonic() - started, True


def test_a_real_server_answers_or_drops_stalled_and_idle_connections_within_seconds(onnx_paths):
    import tritonclient.http as triton_http

    app = _app(onnx_paths, body_timeout=1.0)
    with _uvicorn(app, header_timeout=1.0, timeout_keep_alive=1.0, max_header_bytes=4096) as port:
        started = time.monotonic()
        body = json.dumps(_request()).encode()
        head = f"POST {INFER} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        # Content-Length and Transfer-Encoding together (a smuggling pattern; this hung for 30 s)
        smuggle = f"{head}Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + body
        reply, seconds, closed = _exchange(port, smuggle)
        assert reply.startswith(b"HTTP/1.1 400") and b"both Content-Length and Transfer-Encoding" in reply
        assert closed and seconds < 2
        # Expect: 100-continue, then no body: a 408 after body_timeout, and the connection is closed
        reply, seconds, closed = _exchange(port, f"{head}Content-Length: 100\r\nExpect: 100-continue\r\n\r\n".encode())
        assert b"HTTP/1.1 408" in reply and b"no bytes of the request body arrived" in reply
        assert closed and seconds < 3
        # an idle connection, and one that sends half a request head, are closed after header_timeout
        for data in (b"", head.encode()):
            reply, seconds, closed = _exchange(port, data)
            assert reply == b"" and closed and seconds < 3
        # a head still incomplete after max_header_bytes, and a request that is not HTTP, get a 400 in JSON
        for data in (f"{head}X-Big: {'a' * 5000}\r\n".encode(), b"HELLO\r\n\r\n"):
            reply, seconds, closed = _exchange(port, data)
            assert reply.startswith(b"HTTP/1.1 400") and closed and seconds < 2
            assert "max_header_bytes" in json.loads(reply.partition(b"\r\n\r\n")[2])["error"]
        # a normal request is answered and its kept-alive connection closed after timeout_keep_alive
        reply, seconds, closed = _exchange(port, f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        assert reply.startswith(b"HTTP/1.1 200") and closed and seconds < 3
        # tritonclient with request_compression_algorithm: the gzip body it sends is served
        client = triton_http.InferenceServerClient(f"127.0.0.1:{port}")
        inp = triton_http.InferInput("z", [2, 8], "FP32")
        inp.set_data_from_numpy(_z(2, seed=6))
        for algorithm in ("gzip", "deflate"):
            got = client.infer("faces", [inp], request_compression_algorithm=algorithm).as_numpy("images")
            np.testing.assert_array_equal(got, app.state.models["faces"].model.run(_z(2, seed=6)))
        client.close()
        assert time.monotonic() - started < 12


def test_bodies_in_flight_are_bounded_together(onnx_paths):
    """max_inflight_bytes: while one request holds its body (inferring slowly), a second that would exceed the
    budget gets a 503 at once; when the first ends, its bytes are given back."""
    import httpx

    models = _models(onnx_paths)
    real = models["faces"].run_feeds

    def slow(feeds):
        time.sleep(1.0)
        return real(feeds)

    models["faces"].run_feeds = slow
    body = json.dumps(_request()).encode()
    limit = 2 * len(body) - 1  # room for one body, not two
    app = create_app(
        models, max_queue_delay=0.0, max_body_bytes=limit, max_upload_bytes=limit, max_inflight_bytes=limit
    )
    with _uvicorn(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        first = threading.Thread(target=http.post, args=(INFER,), kwargs={"content": body})
        first.start()
        time.sleep(0.4)  # the first request is inferring and holds its body
        assert app.state.budget.used == len(body)
        response = http.post(INFER, content=body)
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert "max_inflight_bytes" in response.json()["error"]
        first.join()
        assert app.state.budget.used == 0
        models["faces"].run_feeds = real
        assert http.post(INFER, content=body).status_code == 200 and app.state.budget.used == 0


def test_uvicorn_config_sets_the_connection_limits(onnx_paths):
    app = _app(onnx_paths)
    config = uvicorn_config(app, limit_concurrency=3, backlog=7, timeout_keep_alive=2.5, max_header_bytes=4096)
    assert (config.limit_concurrency, config.backlog, config.timeout_keep_alive) == (3, 7, 2.5)
    assert config.h11_max_incomplete_event_size == 4096
    with pytest.raises(ValueError):
        uvicorn_config(app, header_timeout=0)


# -- the Triton export's instance kind ------------------------------------------------------------------------


def test_triton_instance_kind_follows_the_providers(tmp_path):
    from ganzoo.exporters.triton import export_triton, instance_kind_for

    assert instance_kind_for("cpu") == instance_kind_for(["CPUExecutionProvider"]) == "KIND_CPU"
    assert instance_kind_for("cuda,cpu") == instance_kind_for(["tensorrt", "cuda", "cpu"]) == "KIND_GPU"
    model = ganzoo.create("dcgan", seed=0, **TINY)
    folder = export_triton(model, tmp_path / "repo", name="cpu", providers="cpu")
    assert "instance_group [ { kind: KIND_CPU count: 1 } ]" in (folder / "config.pbtxt").read_text()
    with pytest.raises(ganzoo.GanzooError, match="contradicts providers"):
        export_triton(model, tmp_path / "repo", name="x", providers="cpu", instance_kind="KIND_GPU")
