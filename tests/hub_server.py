"""The ``hub`` fixture: a real, offline Hugging Face Hub endpoint on 127.0.0.1 for the unmodified client.

Downloads are served by olah (a self-hosted Hub mirror, ``pip install olah``) from bare git repositories the tests
create; uploads go to a small loopback *emulation* of the Hub's write API that commits into the same repositories
(see ``tests/hub_emulation.py``). Register it in ``tests/conftest.py`` with::

    from .hub_server import hub  # noqa: F401

and use it like::

    def test_pinned(hub):
        old = hub.make_repo("ganzoo/tiny", {"config.json": b"{}", "model.safetensors": b"..."})
        hub.tag("ganzoo/tiny", "v1")
        new = hub.commit("ganzoo/tiny", {"config.json": b'{"v": 2}'})
        hf_hub_download("ganzoo/tiny", "config.json", revision=old)  # the old bytes; "v1" too; "main" the new

One olah process and one front app serve the whole pytest session (started on first use, about 2 s, stopped at the
end); every test starts with no repositories, so fixed repo names are fine. For the test, the client is pointed at
the endpoint: ``HF_ENDPOINT`` is set and ``HF_HUB_OFFLINE`` unset in the environment, and because
``huggingface_hub`` reads both at import, these module attributes are patched too (all undone after the test):
``constants.ENDPOINT``, ``constants.HUGGINGFACE_CO_URL_TEMPLATE``, ``constants.HF_HUB_OFFLINE``,
``constants.HF_URL_HOSTS``, ``utils._http._HUB_ORIGINS`` (hosts that get the auth header on redirects) and the
endpoint of the module-level ``HfApi`` behind ``huggingface_hub.create_repo``/``upload_folder``/... . Likewise the
cache and token paths (``constants.HF_HOME``, ``HF_HUB_CACHE``, ``HF_ASSETS_CACHE``, ``HF_XET_CACHE``,
``HF_TOKEN_PATH``, ``HF_STORED_TOKENS_PATH``) are pointed into a fresh ``HF_HOME`` (env too), so each test
downloads into an empty cache and reads no token file (an ``HF_TOKEN`` variable would still be sent, to 127.0.0.1).
``HfApi()`` objects made during the test pick the endpoint up by themselves; pass ``endpoint=hub.endpoint`` only to
objects made before.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

try:
    from .hub_emulation import HubEmulationError, LocalHub
except ImportError:  # imported as a top-level module (tests/ on sys.path)
    from hub_emulation import HubEmulationError, LocalHub

__all__ = ["LocalHub", "hub", "point_client_at"]

_SHARED = pytest.StashKey[object]()


def _shared_hub(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> LocalHub:
    """The session's LocalHub, started on first use; a start that failed fails every later test at once."""
    shared = config.stash.get(_SHARED, None)
    if shared is None:
        if importlib.util.find_spec("olah") is None:
            pytest.skip("olah is not installed (pip install olah): no local Hugging Face Hub endpoint")
        if shutil.which("git") is None:
            pytest.skip("git is not installed: the local Hub endpoint keeps its repositories in git")
        try:
            shared = LocalHub(tmp_path_factory.mktemp("hub_emulation")).start()
        except HubEmulationError as exc:
            shared = exc
        else:
            config.add_cleanup(shared.stop)
        config.stash[_SHARED] = shared
    if isinstance(shared, BaseException):
        pytest.fail(f"the local Hub endpoint (olah + write emulation) did not start: {shared}", pytrace=False)
    return shared


def point_client_at(endpoint: str, monkeypatch: pytest.MonkeyPatch, hf_home: str | os.PathLike | None = None) -> None:
    """Make the already-imported ``huggingface_hub`` talk to ``endpoint``, online, until ``monkeypatch`` undoes it."""
    from huggingface_hub import constants, hf_api

    endpoint = endpoint.rstrip("/")
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    parts = urlsplit(endpoint)
    if hasattr(constants, "HF_URL_HOSTS"):
        monkeypatch.setattr(constants, "HF_URL_HOSTS", frozenset(constants.HF_URL_HOSTS | {parts.hostname}))
    try:
        from huggingface_hub.utils import _http
    except ImportError:  # pragma: no cover - other huggingface_hub layouts
        _http = None
    if _http is not None and hasattr(_http, "_HUB_ORIGINS"):
        origin = (parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}[parts.scheme])
        monkeypatch.setattr(_http, "_HUB_ORIGINS", frozenset(_http._HUB_ORIGINS | {origin}))
    if isinstance(getattr(hf_api, "api", None), hf_api.HfApi):
        monkeypatch.setattr(hf_api.api, "endpoint", endpoint)
    if hf_home is not None:
        home = Path(hf_home)
        for name, path in {
            "HF_HOME": home,
            "HF_HUB_CACHE": home / "hub",
            "HF_ASSETS_CACHE": home / "assets",
            "HF_XET_CACHE": home / "xet",
            "HF_TOKEN_PATH": home / "token",
            "HF_STORED_TOKENS_PATH": home / "stored_tokens",
        }.items():
            if hasattr(constants, name):
                monkeypatch.setattr(constants, name, str(path))


@pytest.fixture
def hub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """A real Hub endpoint on 127.0.0.1 (olah for downloads, a write-API emulation for uploads), no repos in it.

    Yields the session's ``LocalHub``: ``.endpoint`` (the URL ``HF_ENDPOINT`` is set to), ``.repos_path`` (olah's
    mirrors-path: ``models/<owner>/<name>`` bare git repos), ``.make_repo(repo_id, files) -> sha``,
    ``.commit(repo_id, files) -> sha`` (None deletes a file), ``.tag``, ``.branch``, ``.resolve``, ``.files``,
    ``.read`` and ``.olah_url`` (olah itself). Skipped where olah is not installed.
    """
    local = _shared_hub(request.config, tmp_path_factory)
    local.reset()
    hf_home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(hf_home))
    point_client_at(local.endpoint, monkeypatch, hf_home)
    yield local
    local.reset()
