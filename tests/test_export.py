"""ONNX export (parity, metadata, uint8/fp16), OnnxGenerator (no torch, same seeds, providers), Triton repos."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

import ganzoo
from ganzoo.cli import main
from ganzoo.exporters import runtime as serve_module
from ganzoo.exporters.onnx import ExportError, export_onnx, read_metadata
from ganzoo.exporters.runtime import OnnxGenerator, ProviderError, RuntimeMissingError, resolve_providers
from ganzoo.exporters.triton import export_triton

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


@pytest.fixture(scope="module")
def tiny_dcgan():
    return ganzoo.create("dcgan", seed=0, **TINY)


@pytest.fixture(scope="module")
def tiny_onnx(tiny_dcgan, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    report = export_onnx(tiny_dcgan, path)
    return path, report


@pytest.mark.parametrize("name", ganzoo.list_architectures())
def test_every_registered_architecture_exports_with_parity(name, tmp_path):
    """Each architecture in the registry exports, passes onnx.checker and matches PyTorch at batch 1 and 64."""
    arch = ganzoo.get_registry().architectures[name]
    generator = ganzoo.create(name, seed=0, **arch.tiny)
    if arch.task == "image-to-image":
        _check_translator_export(generator, tmp_path)
        return
    report = export_onnx(generator, tmp_path / f"{name}.onnx")
    onnx.checker.check_model(onnx.load(str(report.path)), full_check=True)
    assert set(report.parity) == {1, 64}
    assert max(report.parity.values()) <= 1e-4
    assert report.inputs["z"][1] == generator.z_dim
    assert isinstance(report.inputs["z"][0], str)  # a named, dynamic batch axis
    meta = read_metadata(report.path)
    assert meta["ganzoo.architecture"] == name
    assert meta["ganzoo.z_dim"] == str(generator.z_dim)
    assert meta["ganzoo.version"] == ganzoo.__version__
    # any batch size runs, not only the traced one (class-conditional models take labels)
    labels = {"labels": np.array([0, 1, 1])} if any(s.name == "labels" for s in generator.inputs) else {}
    raw = OnnxGenerator(report.path).sample(3, seed=1, output="raw", **labels)
    want = generator.sample(3, seed=1, output="raw", **labels).numpy()
    np.testing.assert_allclose(raw, want, atol=1e-5)


def _check_translator_export(translator, tmp_path):
    """Every direction of a translator exports with an ``images`` input and matches PyTorch at any batch size."""
    from ganzoo.exporters.runtime import OnnxTranslator

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (3, *translator.inputs[0].shape)).astype(np.float32)
    for role in translator.roles:
        report = export_onnx(
            translator, tmp_path / f"{role}.onnx", direction=role if len(translator.roles) > 1 else None
        )
        onnx.checker.check_model(onnx.load(str(report.path)), full_check=True)
        # images, and an inpainting model's mask (a centre-trained one fills the centre when none is given)
        assert max(report.parity.values()) <= 1e-4 and list(report.inputs) == [s.name for s in translator.inputs]
        assert next(iter(report.inputs)) == "images" and all(s.kind == "mask" for s in translator.inputs[1:])
        assert read_metadata(report.path)["ganzoo.role"] == role
        out = OnnxTranslator(report.path).translate(images, output="raw")
        want = translator.translate(images, direction=role, output="raw").numpy()
        np.testing.assert_allclose(out, want, atol=1e-5)


def test_metadata_describes_an_image_model(tiny_onnx):
    path, report = tiny_onnx
    meta = read_metadata(path)
    assert meta["ganzoo.task"] == "unconditional"
    assert meta["ganzoo.image_size"] == "16"
    assert meta["ganzoo.channels"] == "3"
    assert meta["ganzoo.output_range"] == "[-1, 1]"
    assert json.loads(meta["ganzoo.output_shape"]) == [3, 16, 16]
    assert json.loads(meta["ganzoo.config"])["g_width"] == 4
    assert report.output == "images"
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["z"]
    assert [o.name for o in model.graph.output] == ["images"]
    assert not list(path.parent.glob("*.data"))  # self-contained: no external weight files


def test_onnx_generator_same_seed_same_images_as_pytorch(tiny_dcgan, tiny_onnx):
    """OnnxGenerator.sample(seed) reproduces Generator.sample(seed): same latents, same network."""
    og = OnnxGenerator(tiny_onnx[0])
    np.testing.assert_array_equal(og.sample(16, seed=7), tiny_dcgan.sample(16, seed=7, output="numpy"))
    np.testing.assert_allclose(
        og.sample(16, seed=7, output="raw"), tiny_dcgan.sample(16, seed=7, output="raw").numpy(), atol=1e-5
    )
    assert not np.array_equal(og.sample(4, seed=1), og.sample(4, seed=2))
    pil = og.sample(2, seed=0, output="pil")
    assert pil[0].size == (16, 16) and pil[0].mode == "RGB"
    # batches are cut and stitched invisibly
    np.testing.assert_array_equal(og.sample(10, seed=3, batch_size=3), og.sample(10, seed=3))


def test_uint8_export_is_nhwc_and_matches_pytorch(tiny_dcgan, tmp_path):
    report = export_onnx(tiny_dcgan, tmp_path / "u8.onnx", uint8=True)
    og = OnnxGenerator(report.path)
    raw = og.sample(8, seed=3, output="raw")
    assert raw.dtype == np.uint8 and raw.shape == (8, 16, 16, 3)
    diff = np.abs(raw.astype(int) - tiny_dcgan.sample(8, seed=3, output="numpy").astype(int))
    assert diff.max() <= 1
    assert og.graph_output_shape == (16, 16, 3)
    assert read_metadata(report.path)["ganzoo.output_layout"] == "NHWC"


def test_fp16_export_keeps_float32_interface(tiny_dcgan, tmp_path):
    report = export_onnx(tiny_dcgan, tmp_path / "f16.onnx", fp16=True)
    model = onnx.load(str(report.path))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer)
    assert max(report.parity.values()) <= report.tolerance
    assert str(next(tiny_dcgan.module.parameters()).dtype) == "torch.float32"  # the caller's model is untouched


def test_export_refuses_uint8_for_non_images(tmp_path):
    with pytest.raises(ExportError, match="needs an image generator"):
        export_onnx(ganzoo.create("mlp", seed=0, z_dim=2), tmp_path / "m.onnx", uint8=True)
    assert not (tmp_path / "m.onnx").exists()


def test_failed_parity_writes_nothing(tiny_dcgan, tmp_path, monkeypatch):
    """A graph that does not match PyTorch is refused before anything lands on disk."""
    from ganzoo.exporters import onnx as onnx_export

    monkeypatch.setattr(onnx_export, "ATOL", {"fp32": -1.0, "fp16": -1.0, "uint8": -1.0})
    target = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match="nothing was written"):
        export_onnx(tiny_dcgan, target)
    assert list(tmp_path.iterdir()) == []


def test_onnx_generator_imports_no_torch(tiny_onnx):
    """The serving path (OnnxGenerator) runs in a process where importing torch is impossible."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from ganzoo.exporters.runtime import OnnxGenerator\n"
        f"g = OnnxGenerator({str(tiny_onnx[0])!r})\n"
        "x = g.sample(4, seed=0)\n"
        "assert x.shape == (4, 16, 16, 3), x.shape\n"
        "import ganzoo.exporters.server\n"
        "print('ok', sorted(m for m in sys.modules if m.startswith('torch')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok ['torch']"  # only our None placeholder


def test_providers_explicit_and_clear():
    cpu_only = ["CPUExecutionProvider"]
    assert resolve_providers(None, cpu_only) == ["CPUExecutionProvider"]
    assert resolve_providers(None, ["CUDAExecutionProvider", "CPUExecutionProvider"])[0] == "CUDAExecutionProvider"
    assert resolve_providers("cuda,cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    with pytest.raises(ProviderError, match=r"CPU-only onnxruntime wheel.*ganzoo\[gpu\]"):
        resolve_providers(["cuda"], cpu_only)


def test_gpu_provider_that_fails_to_load_is_an_error_not_a_silent_cpu_fallback(tiny_onnx, monkeypatch):
    """ONNX Runtime quietly drops a CUDA provider whose libraries are missing; OnnxGenerator does not."""
    import onnxruntime as ort

    real_session = ort.InferenceSession

    def session_that_lost_cuda(path, sess_options=None, providers=None):
        return real_session(path, sess_options=sess_options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", session_that_lost_cuda)
    with pytest.raises(ProviderError, match="failed to load"):
        OnnxGenerator(tiny_onnx[0], providers=["cuda", "cpu"])
    og = OnnxGenerator(tiny_onnx[0], providers=["cuda", "cpu"], allow_cpu_fallback=True)
    assert og.providers == ["CPUExecutionProvider"]


def test_runtime_missing_or_doubled_messages(monkeypatch):
    monkeypatch.setattr(serve_module, "installed_runtimes", lambda: ["onnxruntime", "onnxruntime-gpu"])
    with pytest.warns(UserWarning, match="both onnxruntime and onnxruntime-gpu"):
        serve_module.import_onnxruntime()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setattr(serve_module, "installed_runtimes", lambda: [])
    with pytest.raises(RuntimeMissingError, match=r"ganzoo\[cpu\]"):
        serve_module.import_onnxruntime()


def test_corrupt_or_missing_onnx_file(tmp_path):
    with pytest.raises(ganzoo.ModelFileError, match="ganzoo export"):
        OnnxGenerator(tmp_path / "none.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ganzoo.ModelFileError, match="cannot load"):
        OnnxGenerator(bad)


def test_bad_sample_requests(tiny_onnx):
    og = OnnxGenerator(tiny_onnx[0])
    with pytest.raises(ValueError, match="positive"):
        og.sample(0)
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        og.sample(z=np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="output must be"):
        og.sample(1, output="tensor")


def _model_config_pb2():
    """Triton's ModelConfig protobuf module, loaded from the file tritonclient ships (no grpc extra needed)."""
    spec = importlib.util.find_spec("tritonclient")
    path = Path(spec.origin).parent / "grpc" / "model_config_pb2.py"
    module_spec = importlib.util.spec_from_file_location("triton_model_config_pb2", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_triton_repository_parses_with_tritons_own_protobuf(tiny_dcgan, tmp_path):
    from google.protobuf import text_format

    folder = export_triton(tiny_dcgan, tmp_path / "repo", name="faces", max_batch_size=32)
    assert folder == tmp_path / "repo" / "faces"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "1",
        "1/model.onnx",
        "config.pbtxt",
    ]
    pb2 = _model_config_pb2()
    config = text_format.Parse((folder / "config.pbtxt").read_text(), pb2.ModelConfig())
    assert config.name == "faces"
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == 32
    assert config.dynamic_batching.max_queue_delay_microseconds > 0
    assert max(config.dynamic_batching.preferred_batch_size) <= 32
    assert config.instance_group[0].kind == pb2.ModelInstanceGroup.KIND_GPU
    # the specs agree with the ONNX file itself (batch axis left out, as max_batch_size > 0 requires)
    graph = onnx.load(str(folder / "1" / "model.onnx")).graph
    onnx_inputs = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim][1:] for i in graph.input}
    onnx_outputs = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim][1:] for o in graph.output}
    assert {i.name: list(i.dims) for i in config.input} == onnx_inputs == {"z": [8]}
    assert {o.name: list(o.dims) for o in config.output} == onnx_outputs == {"images": [3, 16, 16]}
    assert config.input[0].data_type == pb2.TYPE_FP32
    # an existing model folder is kept unless overwrite is asked for
    with pytest.raises(ganzoo.GanzooError, match="already exists"):
        export_triton(tiny_dcgan, tmp_path / "repo", name="faces")
    export_triton(tiny_dcgan, tmp_path / "repo", name="faces", uint8=True, overwrite=True, instance_kind="KIND_CPU")
    config = text_format.Parse((folder / "config.pbtxt").read_text(), pb2.ModelConfig())
    assert config.output[0].data_type == pb2.TYPE_UINT8 and list(config.output[0].dims) == [16, 16, 3]
    assert [p.name for p in (tmp_path / "repo").iterdir()] == ["faces"]  # no staging leftovers


def test_cli_export_onnx_and_triton(tiny_dcgan, tmp_path):
    tiny_dcgan.save(tmp_path / "g")
    runner = CliRunner()
    result = runner.invoke(main, ["export", str(tmp_path / "g"), "-o", str(tmp_path / "g.onnx"), "--uint8"])
    assert result.exit_code == 0, result.output
    assert OnnxGenerator(tmp_path / "g.onnx").sample(2, seed=0).dtype == np.uint8
    args = ["export", str(tmp_path / "g"), "--format", "triton", "-o", str(tmp_path / "repo"), "--name", "g"]
    result = runner.invoke(main, [*args, "--max-batch-size", "16", "--instance-kind", "cpu"])
    assert result.exit_code == 0, result.output
    assert "max_batch_size: 16" in (tmp_path / "repo" / "g" / "config.pbtxt").read_text()
    result = runner.invoke(main, ["export", str(tmp_path / "g"), "-o", str(tmp_path / "x.onnx"), "--name", "x"])
    assert result.exit_code != 0 and "only apply to --format triton" in result.output
    result = runner.invoke(main, ["export", str(tmp_path / "g"), "--format", "onxx", "-o", str(tmp_path / "y")])
    assert result.exit_code != 0 and "onnx" in result.output  # unknown format with a close match


def test_export_api_by_format(tiny_dcgan, tmp_path):
    path = ganzoo.export(tiny_dcgan, tmp_path / "api.onnx")
    assert path == tmp_path / "api.onnx" and path.is_file()
    with pytest.raises(ganzoo.UnknownNameError, match="triton"):
        ganzoo.export(tiny_dcgan, tmp_path / "r", format="tritn")


def test_onnx_export_refuses_an_existing_file_unless_overwrite(tiny_dcgan, tmp_path, monkeypatch):
    """Like triton, onnx keeps an existing target unless overwrite=True; a failed overwrite keeps the old file."""
    target = tmp_path / "g.onnx"
    export_onnx(tiny_dcgan, target)
    before = target.read_bytes()
    with pytest.raises(ExportError, match=r"already exists; pass overwrite=True \(CLI: --overwrite\)"):
        export_onnx(tiny_dcgan, target, uint8=True)
    with pytest.raises(ganzoo.GanzooError, match="already exists"):
        ganzoo.export(tiny_dcgan, target, uint8=True)
    assert target.read_bytes() == before
    assert ganzoo.export(tiny_dcgan, target, uint8=True, overwrite=True) == target
    assert read_metadata(target)["ganzoo.output_dtype"] == "uint8"
    # the write stays atomic: a failed export with overwrite=True leaves the old file whole, and no temporary file
    replaced = target.read_bytes()
    from ganzoo.exporters import onnx as onnx_export

    monkeypatch.setattr(onnx_export, "ATOL", {"fp32": -1.0, "fp16": -1.0, "uint8": -1.0})
    with pytest.raises(ExportError, match="nothing was written"):
        ganzoo.export(tiny_dcgan, target, overwrite=True)
    assert target.read_bytes() == replaced and [p.name for p in tmp_path.iterdir()] == ["g.onnx"]


def test_onnx_export_to_a_folder_is_a_clear_error(tiny_dcgan, tmp_path):
    """An existing folder is never an .onnx file, with or without overwrite; the message names a file to use."""
    for overwrite in (False, True):
        with pytest.raises(ExportError, match=r"is a folder.*give a file path such as .*model\.onnx"):
            ganzoo.export(tiny_dcgan, tmp_path, overwrite=overwrite)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(ganzoo.GanzooError, match="is a file, but the triton format writes a model repository"):
        ganzoo.export(tiny_dcgan, tmp_path / "file", format="triton")


def test_plugin_exporter_without_overwrite_gets_existing_targets_refused(tiny_dcgan, tmp_path, register_plugin):
    """A third-party exporter that knows no `overwrite` option: ganzoo.export refuses an existing target for it."""
    calls = []

    class Plugin:
        @ganzoo.hookimpl
        def register_exporters(self, register):
            def write(generator, path):
                calls.append(path)
                Path(path).write_text(generator.architecture)
                return Path(path)

            register("text", write)

    register_plugin(Plugin(), "text-exporter")
    target = tmp_path / "g.txt"
    ganzoo.export(tiny_dcgan, target, format="text")
    with pytest.raises(ganzoo.GanzooError, match="already exists; pass overwrite=True"):
        ganzoo.export(tiny_dcgan, target, format="text")
    ganzoo.export(tiny_dcgan, target, format="text", overwrite=True)
    assert len(calls) == 2


def test_cli_export_refuses_existing_outputs_unless_overwrite(tiny_dcgan, tmp_path):
    """`ganzoo export` onnx and triton agree: an existing target is one clear line, --overwrite replaces it."""
    tiny_dcgan.save(tmp_path / "g")
    runner = CliRunner()
    onnx_args = ["export", str(tmp_path / "g"), "-o", str(tmp_path / "g.onnx")]
    triton_args = ["export", str(tmp_path / "g"), "--format", "triton", "-o", str(tmp_path / "repo"), "--name", "g"]
    for args in (onnx_args, triton_args):
        assert runner.invoke(main, args).exit_code == 0
        result = runner.invoke(main, args)
        assert result.exit_code == 1, result.output
        assert "already exists" in result.output and "--overwrite" in result.output
        assert "Traceback" not in result.output
        result = runner.invoke(main, [*args, "--overwrite"])
        assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["export", str(tmp_path / "g"), "-o", str(tmp_path / "repo")])
    assert result.exit_code == 2 and "is a folder" in result.output and "model.onnx" in result.output
    assert "Traceback" not in result.output
