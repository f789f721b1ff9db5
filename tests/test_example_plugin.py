"""End to end: pip-install the example third-party plugin (tests/example_plugin), find, train, load, uninstall.

These tests change the running environment (they pip-install ``ganzoo-example`` into it and uninstall it when the
module ends, even after a failure), so they carry the ``install`` marker: deselect them with ``-m "not install"``.
They must not run beside other tests in parallel workers that share the environment.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.host.manager import PluginInfo

pytestmark = pytest.mark.install

SOURCE = Path(__file__).parent / "example_plugin"
DISTRIBUTION = "ganzoo-example"
ARCHITECTURE = "example-mlp"
LOSS = "example-label-smoothing"
METHOD = "example-instance-noise"
SWITCHES = ("GANZOO_DISABLE_PLUGIN_AUTOLOAD", "GANZOO_BLOCK_PLUGINS", "GANZOO_STRICT_PLUGINS")


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input", "-q"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def _forget_installed_metadata() -> None:
    """Make importlib.metadata (entry points) and the import system see what pip just changed."""
    sys.modules.pop("ganzoo_example", None)
    importlib.invalidate_caches()


class ExamplePlugin:
    """Installs and uninstalls ganzoo-example, building from a copy so the source tree gets no build/ folder."""

    def __init__(self, build_dir: Path) -> None:
        self.source = build_dir / "example_plugin"
        shutil.copytree(SOURCE, self.source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        self.installed = False

    def install(self) -> None:
        if not self.installed:
            # --no-build-isolation: build with the setuptools already here; --no-index: never touch the network.
            _pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(self.source))
            self.installed = True
            _forget_installed_metadata()

    def uninstall(self) -> None:
        self.installed = False  # even if pip fails: teardown then tries again
        _pip("uninstall", "-y", DISTRIBUTION)
        _forget_installed_metadata()


@pytest.fixture(scope="module")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExamplePlugin]:
    plugin = ExamplePlugin(tmp_path_factory.mktemp("ganzoo-example"))
    try:
        plugin.install()
        yield plugin
    finally:
        plugin.uninstall()  # pip uninstall of a package that is not installed only warns


@contextlib.contextmanager
def _process_host() -> Iterator[ganzoo.PluginHost]:
    """A fresh PluginHost, from the environment as it is now, installed as the process host for the block."""
    importlib.invalidate_caches()
    host = ganzoo.PluginHost()
    previous = ganzoo.use_host(host)
    try:
        yield host
    finally:
        ganzoo.use_host(previous)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SWITCHES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def installed(example_plugin: ExamplePlugin, clean_env: pytest.MonkeyPatch) -> Iterator[ganzoo.PluginHost]:
    example_plugin.install()  # a no-op unless the uninstall test ran earlier
    with _process_host() as host:
        yield host


@pytest.fixture(scope="module")
def trained(example_plugin: ExamplePlugin, tmp_path_factory: pytest.TempPathFactory) -> tuple[ganzoo.Generator, Path]:
    """Five training steps of example-mlp on ring-8, saved to a folder: (returned generator, folder)."""
    example_plugin.install()
    out_dir = tmp_path_factory.mktemp("example-run")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in SWITCHES:
            monkeypatch.delenv(name, raising=False)
        with _process_host():
            tiny = ganzoo.get_registry().architectures[ARCHITECTURE].tiny
            generator = ganzoo.train(
                ARCHITECTURE, "ring-8", loss=LOSS, steps=5, batch_size=16, out_dir=out_dir, progress=False, **tiny
            )
    return generator, out_dir


def _example_info() -> PluginInfo | None:
    return next((info for info in ganzoo.get_plugins() if info.name == "example"), None)


def test_installed_plugin_is_discovered(installed: ganzoo.PluginHost) -> None:
    """An installed package's entry point adds its architecture and loss, reported with its distribution."""
    assert ARCHITECTURE in ganzoo.list_architectures()
    assert LOSS in ganzoo.list_losses()
    assert {"dcgan", "mlp", "hinge"} <= set(ganzoo.list_architectures()) | set(ganzoo.list_losses())
    info = _example_info()
    assert info is not None
    assert (info.module, info.distribution, info.version) == ("ganzoo_example", DISTRIBUTION, "0.1.0")
    assert not info.builtin
    assert info.errors == []
    assert info.registered == {"architecture": [ARCHITECTURE], "method": [METHOD], "loss": [LOSS]}
    assert ganzoo.get_registry().architectures[ARCHITECTURE].plugin == "example"


def test_plugin_architecture_trains_saves_and_loads(
    installed: ganzoo.PluginHost, trained: tuple[ganzoo.Generator, Path]
) -> None:
    """ganzoo trains the plugin's model with the plugin's loss, and the saved folder loads back identically."""
    generator, folder = trained
    assert generator.architecture == ARCHITECTURE
    assert generator.training["loss"] == LOSS
    assert generator.training["steps"] == 5
    saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert saved["plugin"] == {"name": "example", "distribution": DISTRIBUTION, "version": "0.1.0"}
    loaded = ganzoo.load(folder)
    assert loaded.architecture == ARCHITECTURE
    assert loaded.config.to_dict() == generator.config.to_dict()  # (classes differ if the module was reloaded)
    samples = generator.sample(8, seed=0)
    assert samples.shape == (8, 2)
    assert torch.isfinite(samples).all()
    assert torch.equal(loaded.sample(8, seed=0), samples)


def test_plugin_method_keeps_the_method_contract(installed: ganzoo.PluginHost) -> None:
    """The plugin's method passes the kit a method author runs: metrics logged, exact resume, published roles."""
    from ganzoo.testing import check_method

    result = check_method(METHOD, ARCHITECTURE, "ring-8", method_options={"sigma": 0.2})
    assert "noise_std" in result["metrics"]


def test_switches_keep_the_plugin_out(installed: ganzoo.PluginHost, monkeypatch: pytest.MonkeyPatch) -> None:
    """GANZOO_BLOCK_PLUGINS=example and GANZOO_DISABLE_PLUGIN_AUTOLOAD=1 each leave it unloaded."""
    assert ARCHITECTURE in ganzoo.list_architectures()

    monkeypatch.setenv("GANZOO_BLOCK_PLUGINS", "example")
    with _process_host():
        assert ARCHITECTURE not in ganzoo.list_architectures()
        assert LOSS not in ganzoo.list_losses()
        assert _example_info() is None
        assert "mlp" in ganzoo.list_architectures()
    monkeypatch.delenv("GANZOO_BLOCK_PLUGINS")

    monkeypatch.setenv("GANZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    with _process_host():
        assert ARCHITECTURE not in ganzoo.list_architectures()
        assert LOSS not in ganzoo.list_losses()
        assert _example_info() is None
        assert "dcgan" in ganzoo.list_architectures()
        assert "non-saturating" in ganzoo.list_losses()


def test_uninstalled_plugin_is_gone_and_named_on_load(
    example_plugin: ExamplePlugin, trained: tuple[ganzoo.Generator, Path], clean_env: pytest.MonkeyPatch
) -> None:
    """After pip uninstall it is not listed, and loading its saved folder says which package to install."""
    _, folder = trained
    example_plugin.uninstall()
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution(DISTRIBUTION)
    with _process_host():
        assert ARCHITECTURE not in ganzoo.list_architectures()
        assert LOSS not in ganzoo.list_losses()
        assert _example_info() is None
        with pytest.raises(ganzoo.UnknownNameError) as excinfo:
            ganzoo.load(folder)
    message = str(excinfo.value)
    assert repr(ARCHITECTURE) in message
    assert DISTRIBUTION in message
    assert f"pip install {DISTRIBUTION}" in message
