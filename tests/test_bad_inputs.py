"""Bad inputs, as a careless user or an attacker makes them: malformed model folders, checkpoints, data files and
command-line values. Every case must end in a ganzoo error that names what was wrong (never a raw traceback, a
hang or an unbounded allocation), and nothing on disk may be written or changed by the failed call.

The HTTP cases live in ``test_server_limits.py``; together they are the issue-21 "bad inputs" suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from click.testing import CliRunner

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import DataError, GanzooError, ModelFileError
from ganzoo.training.checkpoint import read_checkpoint

#: the most a failed load may grow the process's peak memory (the blow-ups found were tens of GB)
MAX_GROWTH_MB = 400
#: the longest a failed load may take (the stalls found were 10-30 s or forever)
MAX_SECONDS = 20


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the sha256 of its bytes (FIFOs and devices by name only)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[str(path.relative_to(folder))] = "special"
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def expect_refused(call: Callable[[], object], error: type[Exception], match: str, folder: Path) -> Exception:
    """``call()`` raises ``error`` with ``match`` in its message, quickly, without a memory blow-up, and leaves
    ``folder`` exactly as it was."""
    before, peak = _snapshot(folder), _peak_mb()

    def timeout(signum, frame):
        raise TimeoutError(f"the call ran for more than {MAX_SECONDS} s (a stall)")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(MAX_SECONDS)
    try:
        with pytest.raises(error) as info:
            call()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert match.lower() in str(info.value).lower(), str(info.value)
    assert _peak_mb() - peak < MAX_GROWTH_MB, f"peak memory grew by {_peak_mb() - peak:.0f} MB"
    assert _snapshot(folder) == before, "the failed call changed files"
    return info.value


# -- model folders ---------------------------------------------------------------------------------------------

DCGAN = {"image_size": 16, "g_width": 8, "d_width": 8, "z_dim": 8}
MLP = {"z_dim": 4, "hidden": 16, "layers": 2}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    out = {}
    for name, arch, config in (("dcgan", "dcgan", DCGAN), ("mlp", "mlp", MLP)):
        torch.manual_seed(0)
        ganzoo.create(arch, **config).save(root / name)
        out[name] = root / name
    return out


def _edit_config(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        change(config)
        (folder / "config.json").write_text(json.dumps(config))

    return edit


def _set(*path_and_value) -> Callable[[Path], None]:
    *path, value = path_and_value

    def change(config: dict) -> None:
        target = config
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return _edit_config(change)


def _delete(*path) -> Callable[[Path], None]:
    def change(config: dict) -> None:
        target = config
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return _edit_config(change)


def _raw_config(text: str | bytes) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        data = text.encode() if isinstance(text, str) else text
        (folder / "config.json").write_bytes(data)

    return edit


def _deep_config(where: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        text = (folder / "config.json").read_text()
        deep = "[" * 100_000 + "]" * 100_000
        config = json.loads(text)
        config[where] = "@@DEEP@@"
        (folder / "config.json").write_text(json.dumps(config).replace('"@@DEEP@@"', deep))

    return edit


def _weights(change: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "model.safetensors"
        tensors = safetensors.torch.load_file(str(path))
        safetensors.torch.save_file(change(dict(tensors)), str(path))

    return edit


def _drop_one(tensors):
    tensors.pop(sorted(tensors)[0])
    return tensors


def _cast(dtype):
    def change(tensors):
        return {k: v.to(dtype) for k, v in tensors.items()}

    return change


def _reshape_first(tensors):
    key = sorted(tensors)[0]
    tensors[key] = torch.zeros(tensors[key].numel() + 1)
    return tensors


def _raw_weights(data: bytes | Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "model.safetensors"
        path.write_bytes(data(path.read_bytes()) if callable(data) else data)

    return edit


def _weights_replaced_by(make: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / "model.safetensors").unlink()
        make(folder / "model.safetensors")

    return edit


def _header_length(n: int) -> Callable[[bytes], bytes]:
    return lambda data: struct.pack("<Q", n) + data[8:]


def _header_json(text: bytes) -> Callable[[bytes], bytes]:
    return lambda data: struct.pack("<Q", len(text)) + text


def _remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


BIG = 10**5000
MODEL_CASES = [
    # (which model, mutation, error, words the message must hold)
    ("dcgan", _remove("config.json"), ModelFileError, "has no config.json"),
    ("dcgan", _remove("model.safetensors"), ModelFileError, "has no model.safetensors"),
    ("dcgan", _raw_config(""), ModelFileError, "not valid JSON"),
    ("dcgan", _raw_config("{not json"), ModelFileError, "not valid JSON"),
    ("dcgan", _raw_config(b"\xff\xfe\x00garbage"), ModelFileError, "not valid JSON"),
    ("dcgan", _raw_config('{"architecture": "dcgan"}'.encode("utf-16")), ModelFileError, "not valid JSON"),
    ("dcgan", _raw_config("[1, 2, 3]"), ModelFileError, "architecture"),
    ("dcgan", _raw_config("null"), ModelFileError, "architecture"),
    ("dcgan", _raw_config(" " * (2 << 20) + "{}"), ModelFileError, "bytes"),
    ("dcgan", _delete("architecture"), ModelFileError, "architecture"),
    ("dcgan", _set("architecture", 7), ModelFileError, "architecture"),
    ("dcgan", _set("architecture", "no-such-arch"), GanzooError, "unknown architecture"),
    ("dcgan", _edit_config(lambda c: c.update(architecture="nope", plugin="a string")), GanzooError, "plugin"),
    ("dcgan", _set("plugin", "a string"), ModelFileError, "'plugin' must be an object"),
    ("dcgan", _set("plugin", [1]), ModelFileError, "'plugin' must be an object"),
    ("dcgan", _set("config", 5), ModelFileError, "'config' must be an object"),
    ("dcgan", _set("config", [1, 2]), ModelFileError, "'config' must be an object"),
    ("dcgan", _set("config", "z_dim=8"), ModelFileError, "'config' must be an object"),
    ("dcgan", _set("config", "z_dim", True), GanzooError, "z_dim"),
    ("dcgan", _set("config", "z_dim", "8"), GanzooError, "z_dim"),
    ("dcgan", _set("config", "z_dim", 8.5), GanzooError, "z_dim"),
    ("dcgan", _set("config", "z_dim", None), GanzooError, "z_dim"),
    ("dcgan", _set("config", "z_dim", -1), GanzooError, "z_dim"),
    ("dcgan", _set("config", "z_dim", 0), GanzooError, "z_dim"),
    ("dcgan", _set("config", "z_dim", 10**9), ModelFileError, "shape mismatches"),
    ("dcgan", _set("config", "z_dim", 10**30), ModelFileError, "cannot be built"),
    (
        "dcgan",
        _raw_config('{"architecture": "dcgan", "config": {"z_dim": ' + "9" * 5000 + "}}"),
        ModelFileError,
        "JSON",
    ),
    ("dcgan", _set("config", "g_width", 10**6), ModelFileError, "does not match"),
    ("dcgan", _set("config", "g_width", 0), GanzooError, "positive"),
    ("dcgan", _set("config", "image_size", 10**6), GanzooError, "image_size"),
    ("dcgan", _set("config", "image_size", 32), ModelFileError, "does not match"),
    ("dcgan", _set("config", "channels", 1), ModelFileError, "does not match"),
    ("dcgan", _set("config", "channels", 7), GanzooError, "channels"),
    ("dcgan", _set("config", "g_width", 4), ModelFileError, "shape mismatches"),
    ("dcgan", _set("config", "d_norm", 3), GanzooError, "d_norm"),
    ("dcgan", _set("config", "bogus", 1), GanzooError, "unknown config field"),
    ("dcgan", _set("training", [1, 2]), ModelFileError, "'training' must be an object"),
    ("dcgan", _set("training", "trained"), ModelFileError, "'training' must be an object"),
    ("dcgan", _set("roles", "generator"), ModelFileError, "roles"),
    ("dcgan", _set("roles", [1]), ModelFileError, "roles"),
    ("dcgan", _set("roles", ["nope"]), ModelFileError, "role(s) ['nope']"),
    ("dcgan", _set("roles", ["generator", "generator"]), ModelFileError, "twice"),
    ("dcgan", _set("roles", ["discriminator"]), ModelFileError, "does not match"),
    ("dcgan", _set("task", 3), ModelFileError, "'task' must be a string"),
    ("dcgan", _deep_config("training"), ModelFileError, "nested too deeply"),
    ("dcgan", _deep_config("config"), ModelFileError, "nested too deeply"),
    ("dcgan", _raw_config('{"architecture": "dcgan", "config": {"z_dim": NaN}}'), ModelFileError, "NaN"),
    ("dcgan", _raw_config('{"architecture": "dcgan", "config": {"z_dim": Infinity}}'), ModelFileError, "Infinity"),
    ("mlp", _set("config", "hidden", 50_000), ModelFileError, "shape mismatches"),
    ("mlp", _set("config", "layers", 10**6), ModelFileError, "more"),
    ("mlp", _set("config", "layers", 3), ModelFileError, "missing tensors"),
    ("mlp", _set("config", "data_dim", 3), ModelFileError, "shape mismatches"),
    ("mlp", _set("config", "pack", 0), GanzooError, "positive"),
    ("mlp", _set("architecture", "dcgan"), GanzooError, "unknown config field"),
    ("dcgan", _weights(_drop_one), ModelFileError, "missing tensors"),
    ("dcgan", _weights(lambda t: {**t, "extra.weight": torch.zeros(2)}), ModelFileError, "unexpected tensors"),
    ("dcgan", _weights(_reshape_first), ModelFileError, "shape mismatches"),
    ("dcgan", _weights(_cast(torch.int64)), ModelFileError, "dtype mismatches"),
    ("dcgan", _weights(_cast(torch.bool)), ModelFileError, "dtype mismatches"),
    ("dcgan", _weights(_cast(torch.int8)), ModelFileError, "dtype mismatches"),
    ("dcgan", _weights(_cast(torch.float16)), None, ""),  # fp16 floats are fine... but the int64 counter is not
    ("mlp", _weights(_cast(torch.float64)), None, ""),  # wider floats load (converted)
    ("dcgan", _weights(lambda t: {"generator." + k: v for k, v in t.items()}), ModelFileError, "missing tensors"),
    ("dcgan", _raw_weights(b""), ModelFileError, "corrupt or truncated"),
    ("dcgan", _raw_weights(lambda d: d[: len(d) // 2]), ModelFileError, "corrupt or truncated"),
    ("dcgan", _raw_weights(lambda d: d[:20]), ModelFileError, "corrupt or truncated"),
    ("dcgan", _raw_weights(os.urandom(4096)), ModelFileError, "corrupt or truncated"),
    ("dcgan", _raw_weights(_header_length(10**15)), ModelFileError, "corrupt or truncated"),
    ("dcgan", _raw_weights(_header_json(b"{not json}")), ModelFileError, "corrupt or truncated"),
    (
        "dcgan",
        _raw_weights(_header_json(b'{"a": {"dtype": "F32", "shape": [1000000000000], "data_offsets": [0, 4]}}')),
        ModelFileError,
        "corrupt or truncated",
    ),
    ("dcgan", _weights_replaced_by(lambda p: p.mkdir()), ModelFileError, "not a regular file"),
    ("dcgan", _weights_replaced_by(lambda p: os.mkfifo(p)), ModelFileError, "not a regular file"),
    ("dcgan", _weights_replaced_by(lambda p: p.symlink_to("/dev/zero")), ModelFileError, "not a regular file"),
    ("dcgan", _weights_replaced_by(lambda p: p.symlink_to(p.parent / "missing")), ModelFileError, "not a regular"),
]


def _case_id(case) -> str:
    model, _mutation, _error, _match = case
    return f"{model}-{MODEL_CASES.index(case)}"


@pytest.mark.parametrize("case", MODEL_CASES, ids=_case_id)
def test_bad_model_folder_is_refused_clearly(case, folders, tmp_path):
    model, mutation, error, match = case
    folder = tmp_path / "model"
    shutil.copytree(folders[model], folder)
    mutation(folder)
    if error is None:  # a legitimate variant: it must load
        if model == "dcgan":  # fp16 cast everything, the int64 batch counter too: refused by dtype
            expect_refused(lambda: ganzoo.load(folder), ModelFileError, "num_batches_tracked", folder)
        else:
            ganzoo.load(folder).sample(2)
        return
    expect_refused(lambda: ganzoo.load(folder), error, match, folder)


def test_bad_model_through_the_cli_is_one_line_and_writes_nothing(folders, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(folders["dcgan"], folder)
    _weights(_cast(torch.int64))(folder)
    result = CliRunner().invoke(main, ["sample", str(folder), "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 1 and "dtype mismatches" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out.png").exists()


# -- training checkpoints --------------------------------------------------------------------------------------

RUN = dict(batch_size=4, progress=False, log_every=1, checkpoint_every=2, **MLP)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    ganzoo.train("mlp", "ring-8", steps=4, out_dir=out, **RUN)
    return out


def _ckpt(change: Callable[[dict, dict], tuple[dict, dict] | None]) -> Callable[[Path], None]:
    """Rewrite the checkpoint with ``change(tensors, metadata)`` applied (in place or returning new ones)."""

    def edit(path: Path) -> None:
        with safetensors.safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata())
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        result = change(tensors, metadata)
        if result is not None:
            tensors, metadata = result
        safetensors.torch.save_file(tensors, str(path), metadata=metadata)

    return edit


def _meta(key: str, value: str | None) -> Callable[[Path], None]:
    def change(tensors, metadata):
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value

    return _ckpt(change)


def _tensor(key_part: str, make: Callable[[torch.Tensor], torch.Tensor | None]) -> Callable[[Path], None]:
    def change(tensors, metadata):
        key = next(k for k in sorted(tensors) if key_part in k)
        value = make(tensors[key])
        if value is None:
            del tensors[key]
        else:
            tensors[key] = value

    return _ckpt(change)


def _optim_meta(change_meta: Callable[[dict], None]) -> Callable[[Path], None]:
    def change(tensors, metadata):
        optimizers = json.loads(metadata["optimizers"])
        change_meta(optimizers)
        metadata["optimizers"] = json.dumps(optimizers)

    return _ckpt(change)


def _raw_ckpt(data: bytes | Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        path.write_bytes(data(path.read_bytes()) if callable(data) else data)

    return edit


def _extra_role(tensors, metadata):
    tensors["modules.critic.weight"] = torch.zeros(2)


def _first_group_params(optimizers):
    name = next(iter(optimizers))
    optimizers[name]["param_groups"][0]["params"] = [0]


CHECKPOINT_CASES = [
    ("no train_config", _meta("train_config", None), "train_config"),
    ("no ema_updates", _meta("ema_updates", None), "ema_updates"),
    ("no optimizers", _meta("optimizers", None), "optimizers"),
    ("no step", _meta("step", None), "step"),
    ("negative step", _meta("step", "-5"), "step"),
    ("step not a number", _meta("step", "four"), "step"),
    ("step of 5000 digits", _meta("step", "9" * 5000), "step"),
    ("step beyond any run", _meta("step", str(10**15)), "step"),
    ("no format", _meta("format", None), "not a ganzoo training checkpoint"),
    ("foreign format", _meta("format", "someone-else"), "not a ganzoo training checkpoint"),
    ("train_config not JSON", _meta("train_config", "{oops"), "train_config"),
    ("train_config a list", _meta("train_config", "[1, 2]"), "train_config"),
    ("train_config deep", _meta("train_config", "[" * 100_000 + "]" * 100_000), "train_config"),
    ("ema_updates a number", _meta("ema_updates", "3"), "ema_updates"),
    ("ema_updates negative", _meta("ema_updates", '{"generator": -1}'), "ema update"),
    ("ema_updates wrong role", _meta("ema_updates", '{"critic": 3}'), "ema update"),
    ("optimizers a list", _meta("optimizers", "[]"), "optimizers"),
    ("optimizer state malformed", _optim_meta(lambda o: o.update({k: 1 for k in o})), "malformed"),
    ("optimizer groups resized", _optim_meta(_first_group_params), "parameter groups"),
    ("method_state not JSON", _meta("method_state", "nope"), "method_state"),
    ("rng missing", _tensor("rng.torch", lambda t: None), "rng"),
    ("rng wrong shape", _tensor("rng.torch", lambda t: t[:10]), "rng"),
    ("weight missing", _tensor("modules.generator.", lambda t: None), "missing"),
    ("weight wrong shape", _tensor("modules.generator.", lambda t: torch.zeros(3, 3)), "mismatched"),
    ("weight wrong dtype", _tensor("modules.discriminator.", lambda t: t.double()), "mismatched"),
    ("ema weight missing", _tensor("ema.generator.", lambda t: None), "missing"),
    ("ema weight int", _tensor("ema.generator.", lambda t: t.long()), "mismatched"),
    ("optimizer moment wrong shape", _tensor("exp_avg", lambda t: torch.zeros(7)), "shape"),
    (
        "optimizer index out of range",
        _ckpt(lambda t, m: t.update({"optim.generator.99.exp_avg": torch.zeros(2)})),
        "names no parameter",
    ),
    ("foreign network role", _ckpt(_extra_role), "holds networks"),
    ("sampler permutation out of range", _tensor("sampler.permutation", lambda t: t + 10**6), "permutation"),
    ("sampler permutation repeats", _tensor("sampler.permutation", torch.zeros_like), "permutation"),
    ("sampler permutation short", _tensor("sampler.permutation", lambda t: t[:5]), "rows"),
    ("sampler permutation float", _tensor("sampler.permutation", lambda t: t.double()), "rows"),
    ("sampler position negative", _tensor("sampler.position", lambda t: torch.tensor(-4)), "position"),
    ("sampler position past the end", _tensor("sampler.position", lambda t: torch.tensor(10**9)), "position"),
    ("sampler rng missing", _tensor("sampler.generator", lambda t: None), "rng"),
    ("empty file", _raw_ckpt(b""), "corrupt or truncated"),
    ("truncated", _raw_ckpt(lambda d: d[: len(d) // 3]), "corrupt or truncated"),
    ("garbage", _raw_ckpt(os.urandom(2048)), "corrupt or truncated"),
    ("huge header length", _raw_ckpt(_header_length(10**15)), "corrupt or truncated"),
]


@pytest.mark.parametrize("case", CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
def test_bad_checkpoint_is_refused_before_anything_is_restored(case, finished_run, tmp_path):
    _, mutation, match = case
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    (out / "model.safetensors").unlink()  # so a wrongly accepted resume would show by writing it
    mutation(out / "checkpoint.safetensors")
    expect_refused(
        lambda: ganzoo.train("mlp", "ring-8", steps=6, out_dir=out, resume=True, **RUN), GanzooError, match, out
    )


def test_a_checkpoint_that_is_a_fifo_or_a_folder_is_refused(finished_run, tmp_path):
    for make in (os.mkfifo, Path.mkdir):
        out = tmp_path / make.__name__
        shutil.copytree(finished_run, out)
        (out / "checkpoint.safetensors").unlink()
        make(out / "checkpoint.safetensors")
        expect_refused(
            lambda out=out: ganzoo.train("mlp", "ring-8", steps=6, out_dir=out, resume=True, **RUN),
            ModelFileError,
            "no checkpoint",
            out,
        )


def test_the_valid_checkpoint_still_resumes(finished_run, tmp_path):
    """The control for the cases above: the untouched copy resumes and trains on."""
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    ganzoo.train("mlp", "ring-8", steps=6, out_dir=out, resume=True, **RUN)
    assert read_checkpoint(out / "checkpoint.safetensors")[1]["step"] == "6"


# -- data files --------------------------------------------------------------------------------------------------


def _npz(path: Path, **arrays) -> None:
    np.savez(path, **arrays)


def _faces(n=8, size=16) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def _npy_member(shape, dtype="|u1", data: bytes = b"", fortran=False) -> bytes:
    header = {"descr": dtype, "fortran_order": fortran, "shape": tuple(shape)}
    text = repr(header).encode()
    pad = 64 - (10 + len(text) + 1) % 64
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + pad + 1) + text + b" " * pad + b"\n" + data


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _bomb(path: Path) -> None:
    """A few KB that inflate to 300 MB of zeros, declared as 20000x5000x3 'images' (one picture)."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("images.npy", "w", force_zip64=True) as member,
    ):
        member.write(_npy_member((1, 20000, 5000, 3)))
        block = bytes(1 << 20)
        for _ in range(300):
            member.write(block)


def _liar(path: Path) -> None:
    """A member whose header declares 122 GB of images."""
    _zip(path, {"images.npy": _npy_member((160_000_000, 16, 16, 3), data=bytes(1024))})


DATA_CASES = [
    ("zero-byte npz", lambda p: p.write_bytes(b""), "empty"),
    ("garbage npz", lambda p: p.write_bytes(os.urandom(1000)), "cannot read"),
    ("truncated npz", lambda p: (_npz(p, images=_faces()), p.write_bytes(p.read_bytes()[:300])), "cannot read"),
    ("a single npy named npz", lambda p: p.write_bytes(_npy_member((1, 16, 16, 3), data=bytes(768))), "cannot read"),
    ("no arrays", lambda p: _zip(p, {"readme.txt": b"hello"}), "arrays"),
    ("wrong key", lambda p: _npz(p, pictures=_faces(), other=_faces()), "choose one with key"),
    ("float images", lambda p: _npz(p, images=_faces().astype(np.float32)), "dtype float32"),
    ("object images (pickle)", lambda p: _zip(p, {"images.npy": _npy_member((2,), "|O", b"\x80\x04N.")}), "pickle"),
    ("1-d images", lambda p: _npz(p, images=np.zeros(10, np.uint8)), "shape"),
    ("5-d images", lambda p: _npz(p, images=np.zeros((2, 2, 16, 16, 3), np.uint8)), "shape"),
    ("empty images", lambda p: _npz(p, images=np.zeros((0, 16, 16, 3), np.uint8)), "no images"),
    ("wrong size, no resize", lambda p: _npz(p, images=_faces(size=20)), "resize"),
    ("declares 122 GB", _liar, "GB"),
    ("zip bomb of the wrong size", _bomb, "resize"),
    (
        "header shorter than data",
        lambda p: _zip(p, {"images.npy": _npy_member((8, 16, 16, 3), data=bytes(100))}),
        "declares",
    ),
    (
        "header longer than data",
        lambda p: _zip(p, {"images.npy": _npy_member((1, 16, 16, 3), data=bytes(9000))}),
        "declares",
    ),
    ("negative shape", lambda p: _zip(p, {"images.npy": _npy_member((-1, 16, 16, 3))}), "valid"),
    (
        "broken npy header",
        lambda p: _zip(p, {"images.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': oops}\n"}),
        "not a valid .npy",
    ),
    ("not npy magic", lambda p: _zip(p, {"images.npy": b"PK garbage" * 10}), "not a valid .npy"),
    ("labels of another length", lambda p: _npz(p, images=_faces(), labels=np.arange(3)), "one per image"),
    ("float labels", lambda p: _npz(p, images=_faces(), labels=np.zeros(8, np.float32)), "integers"),
    ("negative labels", lambda p: _npz(p, images=_faces(), labels=-np.ones(8, np.int64)), "non-negative"),
    ("corrupt compressed data", lambda p: _corrupt_deflate(p), "damaged"),
]


def _corrupt_deflate(path: Path) -> None:
    np.savez_compressed(path, images=np.random.default_rng(0).integers(0, 255, (64, 16, 16, 3), dtype=np.uint8))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("case", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_npz_is_refused_before_it_is_loaded(case, tmp_path):
    _, make, match = case
    data = tmp_path / "data" / "faces.npz"
    data.parent.mkdir()
    make(data)
    out = tmp_path / "run"
    expect_refused(
        lambda: ganzoo.train("dcgan", data, steps=1, out_dir=out, batch_size=2, progress=False, **DCGAN),
        GanzooError,
        match,
        tmp_path,
    )
    assert not out.exists() or not any(out.iterdir())


def _picture(path: Path, size: tuple[int, int]) -> None:
    from PIL import Image

    Image.new("RGB", size, (200, 10, 10)).save(path)


def _png_claiming(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header declares width x height (a decompression bomb's first bytes)."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


FOLDER_CASES = [
    ("empty folder", lambda d: None, "empty"),
    ("only text files", lambda d: (d / "a.txt").write_text("hello"), "readable image"),
    ("only a huge picture", lambda d: _picture(d / "big.png", (9000, 9000)), "Mpx"),
    ("only a decompression bomb", lambda d: _png_claiming(d / "bomb.png", 60000, 60000), "Mpx"),
    (
        "only a truncated png",
        lambda d: (_picture(d / "x.png", (32, 32)), (d / "x.png").write_bytes(b"\x89PNG\r\n")),
        "readable image",
    ),
]


@pytest.mark.parametrize("case", FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
def test_bad_image_folder_is_refused(case, tmp_path):
    _, make, match = case
    folder = tmp_path / "pictures"
    folder.mkdir()
    make(folder)
    out = tmp_path / "run"
    expect_refused(
        lambda: ganzoo.train("dcgan", folder, steps=1, out_dir=out, batch_size=2, progress=False, **DCGAN),
        DataError,
        match,
        folder,
    )


def test_a_huge_picture_among_good_ones_is_skipped_with_a_warning(tmp_path):
    from ganzoo.plugins.datasets import image_folder

    for i in range(3):
        _picture(tmp_path / f"ok{i}.png", (40, 40))
    _png_claiming(tmp_path / "bomb.png", 60000, 60000)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        data = image_folder(tmp_path, image_size=16, progress=False)
    assert len(data) == 3


def test_a_legitimate_npz_still_loads_exactly(tmp_path):
    """The control: the bounded reader returns what np.load does, C and Fortran order alike."""
    from ganzoo.npzfile import NpzArchive

    images = _faces()
    np.savez_compressed(tmp_path / "a.npz", images=images, fortran=np.asfortranarray(images[..., 0]))
    with NpzArchive(tmp_path / "a.npz") as archive:
        assert np.array_equal(archive["images"], images)
        assert np.array_equal(archive["fortran"], images[..., 0])
        assert archive.header("images") == ((8, 16, 16, 3), np.dtype(np.uint8))


# -- command-line values ------------------------------------------------------------------------------------------

CLI_CASES = [
    (["train", "mlp", "--data", "ring-8", "--steps", "0"], "steps"),
    (["train", "mlp", "--data", "ring-8", "--steps", "-3"], "steps"),
    (["train", "mlp", "--data", "ring-8", "--batch-size", "0"], "batch_size"),
    (["train", "mlp", "--data", "ring-8", "--set", "hidden=-1"], "positive"),
    (["train", "mlp", "--data", "ring-8", "--set", "hidden=1e400"], "hidden"),
    (["train", "mlp", "--data", "ring-8", "--set", "nope=1"], "unknown config field"),
    (["train", "mlp", "--data", "ring-8", "--set", "hidden"], "KEY=VALUE"),
    (["train", "mlp", "--data", "no/such/file.npz"], "no such file"),
    (["train", "mlp", "--data", "ring-9"], "unknown dataset"),
    (["train", "no-such-arch", "--data", "ring-8"], "unknown architecture"),
    (["train", "mlp", "--data", "ring-8", "--loss", "nope"], "unknown loss"),
    (["train", "mlp", "--data", "ring-8", "--device", "cuda:99"], "cuda"),
    (["train", "mlp", "--data", "ring-8", "--device", "banana"], "device"),
    (["sample", "dcgan-celeba", "-n", "0"], "at least 1"),
    (["sample", "dcgan-celeba", "-n", "1000000000"], "grid"),
    (["sample", "dcgan-celeba", "--seed", "-1"], "--seed"),
    (["sample", "dcgan-celeba", "--seed", str(2**64)], "--seed"),
    (["sample", "no-such-model"], "unknown zoo model"),
    (["sample", "./no/such/folder"], "no such folder"),
]


@pytest.mark.parametrize("args, match", CLI_CASES, ids=[" ".join(c[0][:4]) for c in CLI_CASES])
def test_bad_command_line_values_are_one_clear_line(args, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if args[0] == "train":
        args = [*args, "-o", str(tmp_path / "run"), "-q"]
    else:
        args = [*args, "-o", str(tmp_path / "out.png")]
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (1, 2), result.output
    assert match.lower() in result.output.lower(), result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (KeyError, AttributeError, IndexError, RecursionError, MemoryError))
    assert _snapshot(tmp_path) == before


# -- exported ONNX files ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_file(folders, tmp_path_factory) -> Path:
    from ganzoo.exporting import export

    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export(ganzoo.load(folders["dcgan"]), path, format="onnx")
    return path


def _onnx_metadata(key: str, value: str) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        import onnx

        model = onnx.load(str(path))
        props = {p.key: p for p in model.metadata_props}
        if key in props:
            props[key].value = value
        else:
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(path))

    return edit


ONNX_CASES = [
    ("inputs not JSON", _onnx_metadata("ganzoo.inputs", "{oops"), "input specs"),
    ("inputs a number", _onnx_metadata("ganzoo.inputs", "7"), "input specs"),
    ("inputs items not objects", _onnx_metadata("ganzoo.inputs", "[1, 2]"), "input specs"),
    ("inputs deeply nested", _onnx_metadata("ganzoo.inputs", "[" * 100_000 + "]" * 100_000), "input specs"),
    ("z_dim not a number", _onnx_metadata("ganzoo.z_dim", "eight"), "z_dim"),
    ("z_dim huge", _onnx_metadata("ganzoo.z_dim", str(10**9)), "z_dim"),
    ("output shape not JSON", _onnx_metadata("ganzoo.output_shape", "[3, 16"), "metadata is malformed"),
    ("empty file", lambda p: p.write_bytes(b""), "cannot load"),
    ("truncated", lambda p: p.write_bytes(p.read_bytes()[:500]), "cannot load"),
    ("garbage", lambda p: p.write_bytes(os.urandom(3000)), "cannot load"),
]


@pytest.mark.parametrize("case", ONNX_CASES, ids=[c[0] for c in ONNX_CASES])
def test_bad_onnx_file_is_refused_clearly(case, onnx_file, tmp_path):
    from ganzoo.exporters.runtime import open_model

    _, mutation, match = case
    path = tmp_path / "model.onnx"
    shutil.copy(onnx_file, path)
    mutation(path)
    expect_refused(lambda: open_model(path, "cpu"), ModelFileError, match, tmp_path)
