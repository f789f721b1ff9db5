"""``resolve_device``: --device / device= values this machine cannot use are clear errors, never tracebacks."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

import ganzoo
from ganzoo.cli import main
from ganzoo.devices import resolve_device
from ganzoo.errors import DeviceError, GanzooError

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


@pytest.fixture
def no_cuda_build(monkeypatch):
    """A CPU-only torch, whatever this machine has."""
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_default_and_valid_devices():
    """None picks cuda when usable, else cpu; cpu always works, as a string or a torch.device."""
    assert resolve_device(None) == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert issubclass(DeviceError, GanzooError)


def test_default_is_cpu_without_a_gpu(no_cuda_build):
    assert resolve_device(None) == torch.device("cpu")


def test_cuda_on_a_cpu_only_torch_says_how_to_fix_it(no_cuda_build):
    """The message says torch was built without CUDA and names both ways out."""
    for device in ("cuda", "cuda:0", torch.device("cuda", 1)):
        with pytest.raises(DeviceError, match="built without CUDA") as info:
            resolve_device(device)
        assert "--device cpu" in str(info.value) and "install a CUDA build of torch" in str(info.value)


def test_cuda_build_without_a_visible_gpu(monkeypatch):
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match=r"no GPU is visible.*--device cpu"):
        resolve_device("cuda")


def test_gpu_index_past_the_last_gpu(monkeypatch):
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(DeviceError, match=r"only 2 GPU\(s\) are visible \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:2")


def test_mps_unavailable(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: False)
    with pytest.raises(DeviceError, match=r"built without MPS.*--device cpu"):
        resolve_device("mps")


@pytest.mark.parametrize("text", ["gpu", "cuda:x", "cpu:", ""])
def test_malformed_device_strings(text):
    with pytest.raises(DeviceError, match="is not a device: use cpu, cuda, cuda:N"):
        resolve_device(text)


def test_unsupported_device_type():
    with pytest.raises(DeviceError, match="does not run on device type 'meta'"):
        resolve_device("meta")


def test_load_checks_the_device_first(no_cuda_build, tmp_path):
    """ganzoo.load(..., device="cuda") on a CPU-only torch is a DeviceError, not torch's AssertionError."""
    ganzoo.create("dcgan", seed=0, **TINY).save(tmp_path / "g")
    with pytest.raises(DeviceError, match="built without CUDA"):
        ganzoo.load(tmp_path / "g", device="cuda")
    assert ganzoo.load(tmp_path / "g", device="cpu").device == torch.device("cpu")


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_cli_device_cuda_on_a_cpu_only_torch_is_one_line(command, no_cuda_build, tmp_path):
    """`ganzoo sample/eval ... --device cuda`: exit 1 with the fix, no traceback."""
    ganzoo.create("mlp", seed=0, z_dim=2, hidden=8, layers=1).save(tmp_path / "g")
    args = [command, str(tmp_path / "g"), "--device", "cuda"]
    args += ["-o", str(tmp_path / "s.png")] if command == "sample" else ["--data", "ring-8", "-n", "10"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "built without CUDA" in result.output and "--device cpu" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
