"""The ``hub`` fixture (tests/hub_server.py) works with the unmodified ``huggingface_hub`` client over real HTTP.

Downloads are served by olah from git repositories; uploads go through the write-API emulation into the same
repositories and come back through olah.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import RemoteEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

REPO = "ganzoo/tiny"
OLD = {"config.json": b'{"version": 1}', "model.safetensors": b"old weights", "extra/notes.txt": b"only in v1"}
NEW = {"config.json": b'{"version": 2}', "model.safetensors": b"new weights", "extra/notes.txt": None}


@pytest.fixture
def two_commits(hub):
    """``REPO`` with an old commit (tagged v1) and a newer one on main; returns (old sha, new sha)."""
    old = hub.make_repo(REPO, OLD)
    hub.tag(REPO, "v1", old)
    new = hub.commit(REPO, NEW, message="version 2")
    return old, new


def test_hf_hub_download_main_pinned_sha_and_tag(hub, two_commits):
    old, new = two_commits
    assert hub.resolve(REPO, "main") == new != old

    at_main = Path(hf_hub_download(REPO, "config.json"))
    assert json.loads(at_main.read_bytes()) == {"version": 2}
    assert at_main.parent.name == new  # the cache's snapshot folder is the commit the endpoint named
    for revision in (old, old[:7], "v1"):
        at_old = Path(hf_hub_download(REPO, "model.safetensors", revision=revision))
        assert at_old.read_bytes() == b"old weights", revision
        assert at_old.parent.name == old
    assert Path(hf_hub_download(REPO, "model.safetensors", revision="main")).read_bytes() == b"new weights"

    # the files come from olah itself (the front app only proxies reads)
    answer = httpx.get(f"{hub.olah_url}/{REPO}/resolve/{old}/config.json")
    assert answer.status_code == 200 and answer.content == OLD["config.json"]


def test_snapshot_download_and_repo_info_at_old_and_new_commits(hub, two_commits):
    old, new = two_commits
    at_old = Path(snapshot_download(REPO, revision=old))
    at_new = Path(snapshot_download(REPO, revision="main"))
    files_old = sorted(str(p.relative_to(at_old)) for p in at_old.rglob("*") if p.is_file())
    files_new = sorted(str(p.relative_to(at_new)) for p in at_new.rglob("*") if p.is_file())
    assert files_old == ["config.json", "extra/notes.txt", "model.safetensors"]
    assert files_new == ["config.json", "model.safetensors"]  # notes.txt was deleted by the second commit
    assert (at_old / "config.json").read_bytes() == OLD["config.json"]
    assert (at_new / "config.json").read_bytes() == NEW["config.json"]

    api = HfApi()
    assert api.model_info(REPO).sha == new
    assert api.model_info(REPO, revision="v1").sha == old
    assert {ref.name: ref.target_commit for ref in api.list_repo_refs(REPO).tags} == {"v1": old}


def test_create_repo_and_upload_folder_then_download_it_back(hub, tmp_path):
    folder = tmp_path / "pushed"
    (folder / "samples").mkdir(parents=True)
    (folder / "config.json").write_text('{"z_dim": 8}')
    (folder / "README.md").write_text("---\nlicense: mit\nlibrary_name: ganzoo\n---\n# tiny\n")
    (folder / "samples" / "grid.bin").write_bytes(bytes(range(256)) * 1000)

    api = HfApi()
    url = api.create_repo("ganzoo/pushed", exist_ok=True)
    assert url.repo_id == "ganzoo/pushed" and url.endpoint == hub.endpoint
    api.create_repo("ganzoo/pushed", exist_ok=True)  # exists: still fine
    info = api.upload_folder(repo_id="ganzoo/pushed", folder_path=folder, commit_message="push tiny")

    assert info.oid == hub.resolve("ganzoo/pushed", "main")
    assert hub.read("ganzoo/pushed", "samples/grid.bin") == (folder / "samples" / "grid.bin").read_bytes()
    for name in ("config.json", "README.md", "samples/grid.bin"):
        downloaded = Path(hf_hub_download("ganzoo/pushed", name, revision=info.oid))
        assert downloaded.read_bytes() == (folder / name).read_bytes(), name

    # pushing the same folder again makes no commit; a changed file makes one, and the old sha still loads
    assert api.upload_folder(repo_id="ganzoo/pushed", folder_path=folder).oid == info.oid
    (folder / "config.json").write_text('{"z_dim": 16}')
    second = api.upload_folder(repo_id="ganzoo/pushed", folder_path=folder, commit_message="bigger z")
    assert second.oid != info.oid
    assert Path(hf_hub_download("ganzoo/pushed", "config.json")).read_text() == '{"z_dim": 16}'
    assert Path(hf_hub_download("ganzoo/pushed", "config.json", revision=info.oid)).read_text() == '{"z_dim": 8}'


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"repo_id": "ganzoo/missing", "filename": "config.json"}, RepositoryNotFoundError),
        ({"repo_id": REPO, "filename": "missing.json"}, RemoteEntryNotFoundError),
        ({"repo_id": REPO, "filename": "config.json", "revision": "missing"}, RevisionNotFoundError),
        ({"repo_id": REPO, "filename": "config.json", "revision": "0" * 40}, RevisionNotFoundError),
    ],
    ids=["repo", "file", "revision", "sha"],
)
def test_missing_repo_file_or_revision_is_the_hubs_error_at_once(hub, two_commits, kwargs, error):
    start = time.monotonic()
    with pytest.raises(error):
        hf_hub_download(**kwargs)
    assert time.monotonic() - start < 5  # no retries with back-off
    if "revision" in kwargs:
        with pytest.raises(RevisionNotFoundError):
            HfApi().model_info(REPO, revision=kwargs["revision"])
