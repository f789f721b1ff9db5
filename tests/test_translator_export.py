"""Export and serving driven by the input spec: translators (images in, images out), one CycleGAN direction at a
time, class-conditional generators; ``ganzoo.inputs`` metadata, ``OnnxTranslator``, the OIP server and Triton."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from PIL import Image
from starlette.testclient import TestClient

import ganzoo
from ganzoo.cli import main
from ganzoo.config import InputSpec
from ganzoo.exporters.onnx import ExportError, export_onnx, read_metadata
from ganzoo.exporters.runtime import OnnxGenerator, OnnxTranslator, open_model
from ganzoo.exporters.server import DynamicBatcher, create_app
from ganzoo.exporters.triton import export_triton

from . import toy_families

SIZE = 8


@pytest.fixture(scope="module")
def toys():
    """The toy families on a plugin host of their own for this module's shared fixtures."""
    fresh = ganzoo.PluginHost()
    previous = ganzoo.use_host(fresh)
    fresh.register(toy_families, "toys")
    try:
        yield {
            "translator": ganzoo.create("toy-translator", seed=0, image_size=SIZE),
            "cycle": ganzoo.create("toy-cycle", seed=0, image_size=SIZE),
            "conditional": ganzoo.create("toy-conditional", seed=0),
        }
    finally:
        ganzoo.use_host(previous)


@pytest.fixture(scope="module")
def exported(toys, tmp_path_factory):
    """The toy models exported once: {name: (path, report)}."""
    folder = tmp_path_factory.mktemp("translators")
    reports = {
        "translator": export_onnx(toys["translator"], folder / "translator.onnx"),
        "translator_u8": export_onnx(toys["translator"], folder / "translator_u8.onnx", uint8=True),
        "g_ab": export_onnx(toys["cycle"], folder / "g_ab.onnx", direction="g_ab"),
        "conditional": export_onnx(toys["conditional"], folder / "conditional.onnx"),
    }
    return {name: (r.path, r) for name, r in reports.items()}


def _uint8_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def _png(array: np.ndarray, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format)
    return buffer.getvalue()


# -- export --------------------------------------------------------------------------------------------------


def test_translator_exports_images_in_and_out_with_parity(toys, exported):
    """A translator's graph: `images` (N, C, H, W) in, `images_out` out (ONNX forbids one name for both)."""
    path, report = exported["translator"]
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["images_out"]
    assert report.inputs["images"][1:] == [3, SIZE, SIZE] and isinstance(report.inputs["images"][0], str)
    assert set(report.parity) == {1, 64} and max(report.parity.values()) <= 1e-4
    # ONNX Runtime matches PyTorch on other images and batch sizes than the traced ones
    translator = toys["translator"]
    x = np.random.default_rng(1).uniform(-1, 1, (5, 3, SIZE, SIZE)).astype(np.float32)
    got = OnnxTranslator(path).run(x)
    np.testing.assert_allclose(got, translator.translate(x, output="raw").numpy(), atol=1e-5)


def test_input_spec_metadata_round_trips(toys, exported):
    """`ganzoo.inputs` is the model's input spec as JSON; `ganzoo.outputs` the graph's output; old keys stay."""
    meta = read_metadata(exported["translator"][0])
    specs = tuple(InputSpec.from_dict(d) for d in json.loads(meta["ganzoo.inputs"]))
    assert specs == toys["translator"].inputs
    assert specs[0] == InputSpec("images", "float32", (3, SIZE, SIZE), "image", value_range=(-1.0, 1.0))
    (out,) = (InputSpec.from_dict(d) for d in json.loads(meta["ganzoo.outputs"]))
    assert (out.name, out.dtype, out.shape, out.kind) == ("images_out", "float32", (3, SIZE, SIZE), "image")
    assert meta["ganzoo.task"] == "image-to-image" and meta["ganzoo.role"] == "generator"
    for key in ("ganzoo.architecture", "ganzoo.output_shape", "ganzoo.output_dtype", "ganzoo.version"):
        assert key in meta
    assert "ganzoo.latents" not in meta  # a translator draws no latents
    meta = read_metadata(exported["conditional"][0])
    specs = tuple(InputSpec.from_dict(d) for d in json.loads(meta["ganzoo.inputs"]))
    assert specs == toys["conditional"].inputs
    assert [s.name for s in specs] == ["z", "labels"] and specs[1].value_range == (0, 7)
    assert "ganzoo.latents" in meta and meta["ganzoo.z_dim"] == "4"


def test_cycle_exports_one_direction_at_a_time(toys, exported, tmp_path):
    cycle = toys["cycle"]
    with pytest.raises(ExportError, match=r"2 directions \(g_ab, g_ba\).*direction='g_ab'.*--direction g_ab"):
        export_onnx(cycle, tmp_path / "both.onnx")
    with pytest.raises(ExportError, match="unknown direction 'g_xy'; 'toy-cycle' has g_ab, g_ba"):
        export_onnx(cycle, tmp_path / "xy.onnx", direction="g_xy")
    assert list(tmp_path.iterdir()) == []
    g_ba = export_onnx(cycle, tmp_path / "g_ba.onnx", direction="g_ba").path
    x = np.random.default_rng(2).uniform(-1, 1, (3, 3, SIZE, SIZE)).astype(np.float32)
    for path, role in ((exported["g_ab"][0], "g_ab"), (g_ba, "g_ba")):
        translator = OnnxTranslator(path)
        assert translator.direction == role and read_metadata(path)["ganzoo.role"] == role
        want = cycle.translate(x, direction=role, output="raw").numpy()
        np.testing.assert_allclose(translator.run(x), want, atol=1e-5)
    assert not np.allclose(OnnxTranslator(exported["g_ab"][0]).run(x), OnnxTranslator(g_ba).run(x))
    # the public API passes the direction on
    assert ganzoo.export(cycle, tmp_path / "api.onnx", direction="g_ba") == tmp_path / "api.onnx"


def test_class_conditional_generator_exports_from_its_spec(toys, exported):
    path, report = exported["conditional"]
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["z", "labels"]
    assert graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert report.output == "samples" and max(report.parity.values()) <= 1e-4
    generator = toys["conditional"]
    og = OnnxGenerator(path)
    labels = np.array([0, 3, 7, 1])
    want = generator.sample(4, seed=5, labels=labels, output="raw").numpy()
    np.testing.assert_allclose(og.sample(4, seed=5, labels=labels, output="raw"), want, atol=1e-5)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 7\]"):
        og.sample(2, seed=0, labels=np.array([0, 8]), output="raw")
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        og.sample(2, seed=0, output="raw")


# -- OnnxTranslator ------------------------------------------------------------------------------------------


def test_onnx_translator_gives_the_same_images_as_pytorch(toys, exported):
    translator = toys["translator"]
    onnx_translator = OnnxTranslator(exported["translator"][0])
    images = _uint8_images(10, seed=3)
    want = translator.translate(images, output="numpy")
    got = onnx_translator.translate(images)
    assert got.dtype == np.uint8 and got.shape == (10, SIZE, SIZE, 3)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    # float NCHW in [-1, 1] gives the same as the uint8 NHWC it came from; chunks are stitched invisibly
    floats = images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    np.testing.assert_array_equal(onnx_translator.translate(floats), got)
    np.testing.assert_array_equal(onnx_translator.translate(images, batch_size=3), got)
    np.testing.assert_array_equal(onnx_translator.translate(images[0]), got[:1])  # one image, no batch axis
    pil = onnx_translator.translate([Image.fromarray(a) for a in images[:2]], output="pil")
    assert pil[0].size == (SIZE, SIZE) and pil[0].mode == "RGB"
    np.testing.assert_array_equal(np.asarray(pil[1]), got[1])
    assert onnx_translator.translate(images, output="raw").shape == (10, 3, SIZE, SIZE)


def test_uint8_translator_export_is_nhwc(toys, exported):
    path = exported["translator_u8"][0]
    graph = onnx.load(str(path)).graph
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    meta = read_metadata(path)
    (out,) = json.loads(meta["ganzoo.outputs"])
    assert out["dtype"] == "uint8" and out["shape"] == [SIZE, SIZE, 3] and meta["ganzoo.output_layout"] == "NHWC"
    onnx_translator = OnnxTranslator(path)
    images = _uint8_images(6, seed=4)
    raw = onnx_translator.translate(images, output="raw")
    assert raw.dtype == np.uint8 and raw.shape == (6, SIZE, SIZE, 3)
    np.testing.assert_array_equal(onnx_translator.translate(images), raw)
    want = toys["translator"].translate(images, output="numpy")
    assert np.abs(raw.astype(int) - want.astype(int)).max() <= 1


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((2, 3, SIZE + 1, SIZE), np.float32), r"float32 \(N, 3, 8, 8\) in \[-1, 1\] or uint8 \(N, 8, 8, 3\)"),
        (np.zeros((2, SIZE, SIZE), np.uint8), r"got uint8 \(2, 8, 8\)"),
        (np.zeros((2, SIZE, SIZE, 1), np.uint8), r"got uint8 \(2, 8, 8, 1\)"),
        (np.full((1, 3, SIZE, SIZE), 255.0, np.float32), r"must lie in \[-1, 1\].*pass uint8"),
        (np.zeros((2, 3, SIZE, SIZE), np.int64), "got int64"),
        (np.zeros((0, SIZE, SIZE, 3), np.uint8), "empty"),
    ],
)
def test_onnx_translator_refuses_images_that_do_not_fit(exported, images, message):
    with pytest.raises(ValueError, match=message):
        OnnxTranslator(exported["translator"][0]).translate(images)


def test_open_model_picks_the_class(exported, tmp_path):
    assert type(open_model(exported["translator"][0])) is OnnxTranslator
    assert type(open_model(exported["conditional"][0])) is OnnxGenerator
    with pytest.raises(ganzoo.ModelFileError, match=r"image-to-image model.*OnnxTranslator.*open_model"):
        OnnxGenerator(exported["translator"][0])
    with pytest.raises(ganzoo.ModelFileError, match=r"not an image-to-image model.*OnnxGenerator"):
        OnnxTranslator(exported["conditional"][0])
    with pytest.raises(ganzoo.ModelFileError, match="ganzoo export"):
        open_model(tmp_path / "missing.onnx")


def test_files_without_input_spec_metadata_still_open(tmp_path):
    """Files exported before `ganzoo.inputs` existed: specs are read off the graph."""
    path = export_onnx(
        ganzoo.create("dcgan", seed=0, z_dim=8, image_size=16, g_width=4, d_width=4), tmp_path / "g.onnx"
    )
    model = onnx.load(str(path.path))
    kept = [p for p in model.metadata_props if p.key not in ("ganzoo.inputs", "ganzoo.outputs", "ganzoo.role")]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    old = tmp_path / "old.onnx"
    onnx.save_model(model, str(old))
    og = open_model(old)
    assert type(og) is OnnxGenerator
    assert og.input_specs == (InputSpec("z", "float32", (8,), "latent", prior="normal"),)
    np.testing.assert_array_equal(og.sample(3, seed=1), OnnxGenerator(path.path).sample(3, seed=1))
    folder = export_triton(ganzoo.create("dcgan", seed=0, z_dim=8, image_size=16, g_width=4, d_width=4), tmp_path)
    assert 'name: "z" data_type: TYPE_FP32 dims: [ 8 ]' in (folder / "config.pbtxt").read_text()


def test_onnx_translator_imports_no_torch(exported):
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from ganzoo.exporters.runtime import open_model\n"
        f"t = open_model({str(exported['translator'][0])!r})\n"
        "x = t.translate(np.zeros((2, 8, 8, 3), np.uint8))\n"
        "assert type(t).__name__ == 'OnnxTranslator' and x.shape == (2, 8, 8, 3), x.shape\n"
        "import ganzoo.exporters.server\n"
        "print('ok', sorted(m for m in sys.modules if m.startswith('torch')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok ['torch']"


# -- Triton ----------------------------------------------------------------------------------------------------


def test_triton_config_from_the_input_spec(toys, tmp_path):
    from google.protobuf import text_format

    from .test_export import _model_config_pb2

    pb2 = _model_config_pb2()
    folder = export_triton(toys["translator"], tmp_path / "repo", name="pix", instance_kind="KIND_CPU")
    config = text_format.Parse((folder / "config.pbtxt").read_text(), pb2.ModelConfig())
    assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [("images", pb2.TYPE_FP32, [3, SIZE, SIZE])]
    assert [(o.name, o.data_type, list(o.dims)) for o in config.output] == [
        ("images_out", pb2.TYPE_FP32, [3, SIZE, SIZE])
    ]
    folder = export_triton(toys["translator"], tmp_path / "repo", name="pix8", uint8=True)
    config = text_format.Parse((folder / "config.pbtxt").read_text(), pb2.ModelConfig())
    assert config.output[0].data_type == pb2.TYPE_UINT8 and list(config.output[0].dims) == [SIZE, SIZE, 3]
    # a class label: one value per sample, dims [1] reshaped to a scalar
    folder = export_triton(toys["conditional"], tmp_path / "repo")
    config = text_format.Parse((folder / "config.pbtxt").read_text(), pb2.ModelConfig())
    assert [(i.name, list(i.dims)) for i in config.input] == [("z", [4]), ("labels", [1])]
    assert config.input[1].data_type == pb2.TYPE_INT64 and list(config.input[1].reshape.shape) == []
    # a CycleGAN: one direction per model, named after it; none given is refused before anything is written
    with pytest.raises(ExportError, match="directions"):
        export_triton(toys["cycle"], tmp_path / "cycles")
    assert not (tmp_path / "cycles").exists()
    assert export_triton(toys["cycle"], tmp_path / "cycles", direction="g_ba").name == "toy-cycle-g_ba"


def test_triton_config_lists_infogan_codes(tmp_path):
    """InfoGAN's codes are Triton inputs: the categorical code one INT64 per sample (dims [1] reshaped to a
    scalar), the continuous codes FP32 [continuous]."""
    from google.protobuf import text_format

    from .test_export import _model_config_pb2

    pb2 = _model_config_pb2()
    info = ganzoo.create("infogan", seed=0, z_dim=8, image_size=16, g_width=4, d_width=4, continuous=3)
    folder = export_triton(info, tmp_path / "repo")
    config = text_format.Parse((folder / "config.pbtxt").read_text(), pb2.ModelConfig())
    assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [
        ("z", pb2.TYPE_FP32, [8]),
        ("code", pb2.TYPE_INT64, [1]),
        ("continuous", pb2.TYPE_FP32, [3]),
    ]
    assert list(config.input[1].reshape.shape) == []


# -- serving ---------------------------------------------------------------------------------------------------


@pytest.fixture
def client(exported):
    models = {
        "pix": OnnxTranslator(exported["translator"][0]),
        "pix8": OnnxTranslator(exported["translator_u8"][0]),
        "cond": OnnxGenerator(exported["conditional"][0]),
    }
    app = create_app(models, max_batch_size=16, max_queue_delay=0.0, max_samples=10, max_upload_bytes=50_000)
    with TestClient(app) as c:
        yield c, models


def _tensor(name: str, array: np.ndarray, datatype: str) -> dict:
    return {
        "inputs": [{"name": name, "shape": list(array.shape), "datatype": datatype, "data": array.ravel().tolist()}]
    }


def test_translator_metadata_lists_the_spec(client):
    c, _ = client
    meta = c.get("/v2/models/pix").json()
    assert meta["inputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 3, SIZE, SIZE]}]
    assert meta["outputs"] == [{"name": "images_out", "datatype": "FP32", "shape": [-1, 3, SIZE, SIZE]}]
    assert c.get("/v2/models/pix8").json()["outputs"][0] == {
        "name": "images_out",
        "datatype": "UINT8",
        "shape": [-1, SIZE, SIZE, 3],
    }
    assert c.get("/v2/models/cond").json()["inputs"] == [
        {"name": "z", "datatype": "FP32", "shape": [-1, 4]},
        {"name": "labels", "datatype": "INT64", "shape": [-1]},
    ]


def test_oip_infer_with_fp32_or_uint8_images(client):
    c, models = client
    images = _uint8_images(3, seed=6)
    floats = images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(127.5) - np.float32(1)
    want = models["pix"].run(floats)
    response = c.post("/v2/models/pix/infer", json=_tensor("images", floats, "FP32"))
    assert response.status_code == 200, response.text
    out = response.json()["outputs"][0]
    assert out["name"] == "images_out" and out["datatype"] == "FP32" and out["shape"] == [3, 3, SIZE, SIZE]
    np.testing.assert_array_equal(np.asarray(out["data"], np.float32).reshape(out["shape"]), want)
    # UINT8 NHWC through the binary tensor extension, as tritonclient sends it
    head = json.dumps(
        {
            "inputs": [
                {
                    "name": "images",
                    "shape": list(images.shape),
                    "datatype": "UINT8",
                    "parameters": {"binary_data_size": images.nbytes},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    response = c.post(
        "/v2/models/pix/versions/1/infer",
        content=head + images.tobytes(),
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
    assert response.status_code == 200, response.text
    n = int(response.headers["Inference-Header-Content-Length"])
    out = json.loads(response.content[:n])["outputs"][0]
    got = np.frombuffer(response.content[n:], np.float32).reshape(out["shape"])
    np.testing.assert_array_equal(got, want)
    # a --uint8 export answers with UINT8 NHWC, the same images as OnnxTranslator.translate
    response = c.post("/v2/models/pix8/infer", json=_tensor("images", images, "UINT8"))
    out = response.json()["outputs"][0]
    assert out["datatype"] == "UINT8" and out["shape"] == [3, SIZE, SIZE, 3]
    np.testing.assert_array_equal(
        np.asarray(out["data"], np.uint8).reshape(out["shape"]), models["pix8"].translate(images)
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_tensor("images", np.zeros((2, 3, SIZE, SIZE + 1), np.float32), "FP32"), "must be FP32 [n, 3, 8, 8]"),
        (_tensor("images", np.zeros((2, 3, SIZE, SIZE), np.uint8), "UINT8"), "or UINT8 [n, 8, 8, 3]; got UINT8"),
        (_tensor("images", np.zeros((2, 3, SIZE, SIZE)), "FP64"), "got FP64"),
        (_tensor("source", np.zeros((2, 3, SIZE, SIZE), np.float32), "FP32"), "takes inputs ['images']"),
        (_tensor("images", np.zeros((11, SIZE, SIZE, 3), np.uint8), "UINT8"), "at most 10"),
        (_tensor("images", np.zeros((0, SIZE, SIZE, 3), np.uint8), "UINT8"), "empty"),
        (_tensor("images", np.full((1, 3, SIZE, SIZE), 9.0, np.float32), "FP32"), "must lie in [-1, 1]"),
    ],
)
def test_bad_translator_requests_get_a_4xx_json_error(client, body, message):
    c, _ = client
    response = c.post("/v2/models/pix/infer", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_class_conditional_labels_are_checked_by_the_server(client):
    c, models = client
    z = np.random.default_rng(0).standard_normal((2, 4), dtype=np.float32)
    body = _tensor("z", z, "FP32")
    body["inputs"].append({"name": "labels", "shape": [2], "datatype": "INT64", "data": [1, 9]})
    response = c.post("/v2/models/cond/infer", json=body)
    assert response.status_code == 400 and "[0, 7]" in response.json()["error"]
    body["inputs"][1]["data"] = [1, 7]
    out = c.post("/v2/models/cond/infer", json=body).json()["outputs"][0]
    want = models["cond"].run(z, np.array([1, 7]))
    np.testing.assert_array_equal(np.asarray(out["data"], np.float32).reshape(out["shape"]), want)


def test_png_upload_returns_the_translated_png(client):
    c, models = client
    image = _uint8_images(1, seed=7)[0]
    response = c.post("/v2/models/pix/translate.png", content=_png(image), headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    got = np.asarray(Image.open(io.BytesIO(response.content)))
    np.testing.assert_array_equal(got, models["pix"].translate(image[None])[0])
    # JPEG too (compared with the pixels the JPEG decodes to), and a --uint8 export
    jpeg = _png(image, "JPEG")
    response = c.post("/v2/models/pix8/versions/1/translate.png", content=jpeg)
    assert response.status_code == 200, response.text
    decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(response.content))), models["pix8"].translate(decoded)[0]
    )
    # another size: refused, unless the server is asked to resize
    big = np.zeros((16, 12, 3), np.uint8)
    response = c.post("/v2/models/pix/translate.png", content=_png(big))
    assert response.status_code == 400 and "12x16 pixels" in response.json()["error"]
    assert "resize=true" in response.json()["error"]
    response = c.post("/v2/models/pix/translate.png?resize=true", content=_png(big))
    assert response.status_code == 200 and Image.open(io.BytesIO(response.content)).size == (SIZE, SIZE)


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "message"),
    [
        ("/v2/models/pix/translate.png", {"content": b"not an image"}, 400, "not a PNG or JPEG"),
        ("/v2/models/pix/translate.png", {"content": b""}, 400, "body is empty"),
        ("/v2/models/pix/translate.png", {"files": {"file": ("a.png", b"x", "image/png")}}, 415, "not a form"),
        ("/v2/models/pix/translate.png", {"content": b"\0" * 60_000}, 413, "at most 50000"),
        ("/v2/models/cond/translate.png", {"content": b"x"}, 400, "does not translate"),
        ("/v2/models/nope/translate.png", {"content": b"x"}, 404, "unknown model"),
    ],
)
def test_bad_uploads_get_a_4xx_json_error(client, path, kwargs, status, message):
    c, _ = client
    response = c.post(path, **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_upload_limits_pixels_and_formats(exported):
    app = create_app({"pix": OnnxTranslator(exported["translator"][0])}, max_image_pixels=100)
    with TestClient(app) as c:
        response = c.post("/v2/models/pix/translate.png", content=_png(np.zeros((20, 20, 3), np.uint8)))
        assert response.status_code == 413 and "at most 100" in response.json()["error"]
        gif = _png(np.zeros((SIZE, SIZE, 3), np.uint8), "GIF")
        response = c.post("/v2/models/pix/translate.png", content=gif)
        assert response.status_code == 415 and "GIF" in response.json()["error"]


def test_generator_pages_and_translator_pages_point_at_each_other(client):
    c, _ = client
    response = c.get("/sample/pix.png")
    assert response.status_code == 400 and "/v2/models/pix/translate.png" in response.json()["error"]
    page = c.get("/").text
    assert "translate.png" in page and "type=file" in page


def test_translator_requests_are_batched(exported):
    """Concurrent translator requests share ONNX Runtime calls, and each caller gets its own images back."""
    translator = OnnxTranslator(exported["translator"][0])
    requests = [translator.as_input(_uint8_images(n, seed=n)) for n in (1, 2, 3, 4)]

    async def run() -> list[np.ndarray]:
        batcher = DynamicBatcher(translator, max_batch_size=64, max_queue_delay=0.05)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.infer({"images": x}) for x in requests))
        finally:
            assert batcher.batches < len(requests) and batcher.samples == 10
            await batcher.stop()

    for x, got in zip(requests, asyncio.run(run()), strict=True):
        np.testing.assert_array_equal(got, translator.run(x))


# -- command line ----------------------------------------------------------------------------------------------


def test_cli_exports_and_serves_a_translator(register_plugin, tmp_path, monkeypatch):
    register_plugin(toy_families, "toys")
    cycle = ganzoo.create("toy-cycle", seed=0, image_size=SIZE)
    ganzoo.save(cycle, tmp_path / "cycle")
    runner = CliRunner()
    result = runner.invoke(main, ["export", str(tmp_path / "cycle"), "-o", str(tmp_path / "c.onnx")])
    assert result.exit_code == 1 and "--direction g_ab" in result.output and "Traceback" not in result.output
    args = ["export", str(tmp_path / "cycle"), "-o", str(tmp_path / "c.onnx"), "--direction", "g_ba", "--uint8"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    translator = OnnxTranslator(tmp_path / "c.onnx")
    assert translator.direction == "g_ba" and translator.uint8_output
    images = _uint8_images(2)
    diff = translator.translate(images).astype(int) - cycle.translate(images, direction="g_ba", output="numpy")
    assert np.abs(diff).max() <= 1
    # `ganzoo serve` opens a translator's file as an OnnxTranslator
    from ganzoo.exporters import server

    served = {}
    monkeypatch.setattr(server, "serve", lambda models, **options: served.update(models))
    result = runner.invoke(main, ["serve", f"horses={tmp_path / 'c.onnx'}"])
    assert result.exit_code == 0, result.output
    assert type(served["horses"]) is OnnxTranslator
