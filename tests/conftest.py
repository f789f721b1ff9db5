"""Shared fixtures: an isolated Hub cache, offline mode, a fresh plugin host per test that needs one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import ganzoo

from .hub_server import hub  # noqa: F401  (the local Hub endpoint fixture)

REPO = Path(__file__).resolve().parent.parent
CELEBA = REPO.parent / "shared" / "datasets" / "celeba64" / "celeba64_uint8.npz"
FASHION = REPO.parent / "shared" / "datasets" / "fashion_mnist" / "fashion_mnist.npz"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path_factory):
    """No test reads the user's Hub cache or token, touches the network, or leaks plugin switches."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in (
        "GANZOO_BLOCK_PLUGINS",
        "GANZOO_DISABLE_PLUGIN_AUTOLOAD",
        "GANZOO_STRICT_PLUGINS",
        "GANZOO_TRACE_PLUGINS",
    ):
        monkeypatch.delenv(name, raising=False)
    torch.manual_seed(0)


@pytest.fixture
def host():
    """A fresh plugin host (built-ins and installed plugins) installed as the process host for one test."""
    fresh = ganzoo.PluginHost()
    previous = ganzoo.use_host(fresh)
    yield fresh
    ganzoo.use_host(previous)


@pytest.fixture
def register_plugin(host):
    """Register plugin objects on the fresh host; ``register_plugin(obj, name)``."""

    def register(plugin, name):
        host.register(plugin, name)
        return plugin

    return register


@pytest.fixture(scope="session")
def celeba_path():
    """The real CelebA 64x64 subset from ../shared/datasets (skipped where it is absent)."""
    if not CELEBA.is_file():
        pytest.skip(f"{CELEBA} not found")
    return CELEBA
