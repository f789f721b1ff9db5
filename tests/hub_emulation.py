"""A real, offline Hugging Face Hub endpoint on 127.0.0.1, for tests only.

Three parts, all real HTTP, the ``huggingface_hub`` client unmodified:

* ``GitRepos``: bare git repositories laid out the way olah's ``mirrors-path`` expects
  (``<root>/<models|datasets|spaces>/<owner>/<name>``, found by reading ``olah/server_mirror.py``). Files are plain
  git blobs (no LFS), written with ``git fast-import``; every commit is a real git commit, so old revisions stay
  downloadable by sha, and tags and branches are real refs.
* ``OlahProcess``: olah (``pip install olah``, a self-hosted Hub mirror) in a subprocess on 127.0.0.1, with
  ``[accessibility] offline = true`` so it never contacts huggingface.co, serving every download from those repos.
* The front app (``create_front_app``): an **emulation** of the Hub's *write* API (create repo, preupload, commit,
  tags, branches, validate-yaml, whoami) that writes commits into the same git repositories, and a reverse proxy
  that sends every other request to olah. ``HF_ENDPOINT`` points at this app. It is a test double, not a Hub: no
  auth, no LFS/Xet uploads, no pull requests.

``LocalHub`` ties them together; ``tests/hub_server.py`` turns it into the ``hub`` pytest fixture.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_TYPE_FOLDERS = {"model": "models", "dataset": "datasets", "space": "spaces"}
EMULATED_USER = "hub-emulation"
COMMIT_AUTHOR = "ganzoo tests <tests@ganzoo.invalid>"
OLAH_START_TIMEOUT = 60.0

FileContent = bytes | str | os.PathLike | None


class HubEmulationError(RuntimeError):
    """The emulated Hub could not be started or a git operation failed."""


class RevisionConflictError(HubEmulationError):
    """A commit's ``parentCommit`` is not the head of the branch it was sent to."""


def _repo_folder(repo_type: str | None) -> str:
    repo_type = repo_type or "model"
    if repo_type in REPO_TYPE_FOLDERS.values():
        return repo_type
    try:
        return REPO_TYPE_FOLDERS[repo_type]
    except KeyError:
        raise ValueError(f"repo_type must be one of {sorted(REPO_TYPE_FOLDERS)}, not {repo_type!r}") from None


def _split_repo_id(repo_id: str) -> tuple[str, str]:
    owner, sep, name = repo_id.partition("/")
    if not sep or not owner or not name or "/" in name or owner.startswith(".") or name.startswith("."):
        raise ValueError(f"repo_id must be 'owner/name', not {repo_id!r}")
    return owner, name


def _git_env() -> dict[str, str]:
    """The caller's environment without git variables that would redirect or configure our git calls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    return env


def _quote_path(path: str) -> str:
    """A path in git fast-import's C-style quoting (always quoted: spaces, quotes and newlines are then safe)."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _as_bytes(content: bytes | str | os.PathLike) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode()
    return Path(content).read_bytes()


class GitRepos:
    """Bare git repositories under ``root`` in olah's mirror layout; the store both olah and the write emulation use.

    Writes hold one lock. olah opens a repository afresh on every request, so a commit is visible to the next
    request. Revisions are anything ``git rev-parse`` resolves: branch, tag, full or abbreviated sha.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._clock = 0

    # -- paths and reads ------------------------------------------------------------------------------------------

    def path(self, repo_id: str, repo_type: str | None = "model") -> Path:
        owner, name = _split_repo_id(repo_id)
        return self.root / _repo_folder(repo_type) / owner / name

    def exists(self, repo_id: str, repo_type: str | None = "model") -> bool:
        return (self.path(repo_id, repo_type) / "HEAD").is_file()

    def _git(self, repo: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        proc = subprocess.run(
            ["git", f"--git-dir={repo}", *args], input=stdin, capture_output=True, env=_git_env(), check=False
        )
        if check and proc.returncode != 0:
            raise HubEmulationError(
                f"git {' '.join(args[:3])} in {repo} failed: {proc.stderr.decode(errors='replace')}"
            )
        return proc.stdout

    def resolve(self, repo_id: str, revision: str = "main", repo_type: str | None = "model") -> str | None:
        """The full commit sha ``revision`` names, or None (no such repo or revision)."""
        if not self.exists(repo_id, repo_type) or not revision or revision.startswith("-"):
            return None
        repo = self.path(repo_id, repo_type)
        out = self._git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        sha = out.decode().strip()
        return sha or None

    def branch_head(self, repo_id: str, branch: str, repo_type: str | None = "model") -> str | None:
        """The commit a *branch* points to (tags and shas do not count), or None."""
        if branch.startswith("refs/"):
            return None
        return self.resolve(repo_id, f"refs/heads/{branch}", repo_type)

    def files(self, repo_id: str, revision: str = "main", repo_type: str | None = "model") -> dict[str, str]:
        """``{path: git blob sha}`` of every file at ``revision``."""
        sha = self.resolve(repo_id, revision, repo_type)
        if sha is None:
            raise HubEmulationError(f"{repo_id} has no revision {revision!r}")
        out = self._git(self.path(repo_id, repo_type), "ls-tree", "-r", "-z", "--full-tree", sha)
        files = {}
        for entry in out.split(b"\0"):
            if entry:
                meta, _, path = entry.partition(b"\t")
                files[path.decode()] = meta.split()[2].decode()
        return files

    def read(self, repo_id: str, path: str, revision: str = "main", repo_type: str | None = "model") -> bytes:
        """One file's bytes at ``revision`` (read from git, not through olah)."""
        sha = self.files(repo_id, revision, repo_type)[path]
        return self._git(self.path(repo_id, repo_type), "cat-file", "blob", sha)

    # -- writes -----------------------------------------------------------------------------------------------------

    def create(self, repo_id: str, repo_type: str | None = "model") -> Path:
        """An empty bare repository whose HEAD is ``main``; FileExistsError if the repo exists."""
        repo = self.path(repo_id, repo_type)
        with self._lock:
            if self.exists(repo_id, repo_type):
                raise FileExistsError(f"{repo_type or 'model'} repo {repo_id} already exists")
            repo.mkdir(parents=True, exist_ok=True)
            proc = subprocess.run(
                ["git", "init", "--bare", "--quiet", "--initial-branch=main", str(repo)],
                capture_output=True,
                env=_git_env(),
                check=False,
            )
            if proc.returncode != 0:
                raise HubEmulationError(f"git init {repo} failed: {proc.stderr.decode(errors='replace')}")
        return repo

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, FileContent],
        *,
        message: str = "Update files",
        description: str = "",
        branch: str = "main",
        repo_type: str | None = "model",
        delete: Iterable[str] = (),
        parent: str | None = None,
    ) -> str:
        """Commit ``files`` (path -> bytes/str/local file; None deletes) on ``branch``; returns the new commit sha.

        Files not named keep their content from the branch head. ``delete`` removes files or whole folders.
        ``parent``, when given, must be (a prefix of) the branch head, else ``RevisionConflictError``. A branch that
        does not exist yet is created (as an orphan), which is how the first commit of a repo is made.
        """
        repo = self.path(repo_id, repo_type)
        if not self.exists(repo_id, repo_type):
            raise HubEmulationError(f"{repo_type or 'model'} repo {repo_id} does not exist")
        if subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True).returncode:
            raise ValueError(f"invalid branch name {branch!r}")
        with self._lock:
            head = self.branch_head(repo_id, branch, repo_type)
            if parent is not None and (head is None or not head.startswith(parent.lower())):
                raise RevisionConflictError(f"{repo_id}@{branch} is at {head}, not at parent commit {parent}")
            self._clock = max(int(time.time()), self._clock + 1)  # strictly increasing commit dates
            text = message if not description else f"{message}\n\n{description}"
            msg = text.encode()
            stream = [
                f"commit refs/heads/{branch}\n".encode(),
                f"author {COMMIT_AUTHOR} {self._clock} +0000\n".encode(),
                f"committer {COMMIT_AUTHOR} {self._clock} +0000\n".encode(),
                b"data %d\n" % len(msg) + msg + b"\n",
            ]
            if head is not None:
                stream.append(f"from {head}\n".encode())
            for path in delete:
                stream.append(f"D {_quote_path(path.strip('/'))}\n".encode())
            for path, content in files.items():
                path = path.strip("/")
                if not path or any(part in ("", ".", "..", ".git") for part in path.split("/")):
                    raise ValueError(f"invalid path in repo: {path!r}")
                if content is None:
                    stream.append(f"D {_quote_path(path)}\n".encode())
                    continue
                data = _as_bytes(content)
                stream.append(f"M 100644 inline {_quote_path(path)}\n".encode())
                stream.append(b"data %d\n" % len(data) + data + b"\n")
            stream.append(b"done\n")
            self._git(repo, "fast-import", "--quiet", "--done", stdin=b"".join(stream))
            sha = self.branch_head(repo_id, branch, repo_type)
        assert sha is not None and sha != head
        return sha

    def tag(self, repo_id: str, tag: str, revision: str = "main", repo_type: str | None = "model") -> str:
        """Point the lightweight tag ``tag`` at ``revision``; returns the commit sha. Existing tags are an error."""
        return self._ref(repo_id, "tags", tag, revision, repo_type)

    def branch(self, repo_id: str, branch: str, revision: str = "main", repo_type: str | None = "model") -> str:
        """Create ``branch`` at ``revision``; returns the commit sha. Existing branches are an error."""
        return self._ref(repo_id, "heads", branch, revision, repo_type)

    def _ref(self, repo_id: str, kind: str, name: str, revision: str, repo_type: str | None) -> str:
        ref = f"refs/{kind}/{name}"
        if subprocess.run(["git", "check-ref-format", ref], capture_output=True).returncode:
            raise ValueError(f"invalid {kind[:-1]} name {name!r}")
        with self._lock:
            sha = self.resolve(repo_id, revision, repo_type)
            if sha is None:
                raise HubEmulationError(f"{repo_id} has no revision {revision!r}")
            if self.resolve(repo_id, ref, repo_type) is not None:
                raise HubEmulationError(f"{repo_id} already has {ref}")
            # the empty old value makes git refuse to overwrite an existing ref
            self._git(self.path(repo_id, repo_type), "update-ref", ref, sha, "")
        return sha

    def clear(self) -> None:
        """Delete every repository (the root folder stays)."""
        with self._lock:
            for child in self.root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()


# --------------------------------------------------------------------------------------------------------------------
# olah in a subprocess


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# ``python -c`` wrapper that runs ``python -m olah.server`` after asking Linux for SIGTERM when the test process
# (argv[1]) dies, so a killed pytest leaves no olah behind; done in the child itself rather than in a preexec_fn,
# which is unsafe in a process with threads.
_OLAH_MAIN = """
import os, runpy, signal, sys
parent = int(sys.argv[1])
sys.argv = ["olah"] + sys.argv[2:]
if sys.platform.startswith("linux"):
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent:
        sys.exit("the test process is gone")
runpy.run_module("olah.server", run_name="__main__", alter_sys=True)
"""


class OlahProcess:
    """``python -m olah.server -c <config.toml>`` on 127.0.0.1, offline, serving ``mirrors_path``; output in
    ``log_path``. Started on a free port (retried on another if olah fails to come up).

    The config keys (``[basic] host, port, repos-path, mirrors-path, mirror-netloc, mirror-lfs-netloc,
    metadata-cache-ttl`` and ``[accessibility] offline``) are the ones ``olah.configs.OlahConfig.read_toml`` reads.
    """

    def __init__(self, mirrors_path: Path, workdir: Path, *, public_netloc: str | None = None) -> None:
        self.mirrors_path = Path(mirrors_path)
        self.workdir = Path(workdir)
        self.public_netloc = public_netloc
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / "olah.out"
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        netloc = self.public_netloc or f"127.0.0.1:{self.port}"
        toml = "\n".join(
            [
                "[basic]",
                'host = "127.0.0.1"',
                f"port = {self.port}",
                'hf-scheme = "http"',
                'hf-netloc = "127.0.0.1:9"',  # never contacted (offline); a closed port if it ever were
                'hf-lfs-netloc = "127.0.0.1:9"',
                'mirror-scheme = "http"',
                f"mirror-netloc = {json.dumps(netloc)}",
                f"mirror-lfs-netloc = {json.dumps(netloc)}",
                f"repos-path = {json.dumps(str(self.workdir / 'cache'))}",
                f"mirrors-path = [{json.dumps(str(self.mirrors_path))}]",
                "metadata-cache-ttl = 0",
                "",
                "[accessibility]",
                "offline = true",
                "",
            ]
        )
        path = self.workdir / "olah.toml"
        path.write_text(toml)
        return path

    def start(self, timeout: float = OLAH_START_TIMEOUT, attempts: int = 3) -> None:
        for attempt in range(attempts):
            self.port = free_port()
            try:
                self._start_once(timeout)
                return
            except HubEmulationError:
                self.stop()
                if attempt == attempts - 1:
                    raise

    def _start_once(self, timeout: float) -> None:
        import httpx

        config = self.write_config()
        env = {k: v for k, v in os.environ.items() if k not in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "OLAH_CONFIG")}
        env["PYTHONUNBUFFERED"] = "1"
        logs = self.workdir / "logs"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _OLAH_MAIN, str(os.getpid()), "-c", str(config), "--log-path", str(logs)],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HubEmulationError(f"olah exited with {self.proc.returncode}:\n{self.log_tail()}")
            # any answer from the API will do (offline olah says 401 for this repo); olah's "/" page is broken
            # with recent Starlette, so it cannot be the probe
            with contextlib.suppress(httpx.HTTPError):
                if (
                    httpx.get(
                        f"{self.url}/api/models/hub-emulation/probe/revision/main", timeout=2, trust_env=False
                    ).status_code
                    < 500
                ):
                    return
            time.sleep(0.1)
        raise HubEmulationError(f"olah did not answer on {self.url} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no olah output)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------------------------------
# the front app: Hub *write API emulation* + reverse proxy to olah

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
_REPO_TYPE_FROM_URL = {"models": "model", "datasets": "dataset", "spaces": "space"}
_RESOLVE = re.compile(r"^/(?:(?P<type>datasets|spaces)/)?(?P<owner>[^/]+)/(?P<name>[^/]+)/resolve/(?P<rest>.+)$")
_API_REPO = re.compile(r"^/api/(?P<type>models|datasets|spaces)/(?P<owner>[^/]+)/(?P<name>[^/]+)/?$")
_API_AT_REVISION = re.compile(
    r"^/api/(?P<type>models|datasets|spaces)/(?P<owner>[^/]+)/(?P<name>[^/]+)/"
    r"(?:revision|tree|commits|paths-info)/(?P<rest>.+)$"
)


def _hub_error(status: int, code: str | None, message: str, **headers: str):
    """An error the way the Hub sends it: ``X-Error-Code`` / ``X-Error-Message`` headers and a JSON body."""
    from starlette.responses import JSONResponse

    header = " ".join(message.split()).encode("ascii", "replace").decode()[:500]  # one line, ASCII
    extra = {"X-Error-Message": header, **headers}
    if code:
        extra["X-Error-Code"] = code
    return JSONResponse({"error": message}, status_code=status, headers=extra)


def create_front_app(repos: GitRepos, olah_url: Callable[[], str], public_url: Callable[[], str], *, hub_compat: bool):
    """The Starlette app ``HF_ENDPOINT`` points at.

    Emulated here (the Hub's write API, for tests only; no auth is checked, token or not):

    * ``POST /api/repos/create``: new bare repo with an initial commit holding ``.gitattributes``, like the Hub;
      409 if it exists (``create_repo(exist_ok=True)`` accepts that).
    * ``POST /api/{type}s/{repo_id}/preupload/{revision}``: every file is ``uploadMode: "regular"`` (base64 in the
      commit, never LFS or Xet), with the blob sha of the file already at ``revision`` as ``oid`` so unchanged
      files are skipped by the client, as on the Hub.
    * ``POST /api/{type}s/{repo_id}/commit/{revision}``: the NDJSON commit (``header``, ``file`` with base64
      content, ``deletedFile``, ``deletedFolder``) becomes one git commit on branch ``revision``.
    * ``POST /api/{type}s/{repo_id}/tag/{revision}`` and ``.../branch/{branch}`` (``create_tag``/``create_branch``),
      ``POST /api/validate-yaml`` (always valid) and ``GET /api/whoami-v2`` (a fixed user).

    Everything else is proxied to olah. With ``hub_compat`` (default), two of offline olah 0.5.4's answers, which
    differ from the Hub's, are corrected, both for repos that exist in git (olah still serves every file):

    * repo info without a revision (``GET /api/models/{repo_id}``, i.e. ``model_info(repo_id)``): olah looks only
      in its metadata cache and says 401 ``RepoNotFound``; the request is sent to olah as ``.../revision/main``.
    * misses: olah says 401 ``RepoNotFound`` for an unknown file or revision name, and 500 for an unknown full sha
      (which the client retries for ~20 s); the app looks in git and answers like the Hub: 404 ``EntryNotFound``
      (with ``X-Repo-Commit``) or 404 ``RevisionNotFound``. A repo that does not exist stays olah's 401
      ``RepoNotFound``, which is what the Hub says too.
    """
    import httpx
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0), trust_env=False) as client:
            state["client"] = client
            yield
        state.clear()

    def repo_of(request: Request) -> tuple[str, str]:
        params = request.path_params
        repo_type = _REPO_TYPE_FROM_URL[params["type"]]
        return f"{params['owner']}/{params['name']}", repo_type

    def not_found(repo_id: str):
        return _hub_error(404, "RepoNotFound", f"Repository not found: {repo_id} (Hub emulation)")

    async def create_repo(request: Request):
        body = await request.json()
        owner = body.get("organization") or EMULATED_USER
        name = body.get("name")
        repo_type = body.get("type") or "model"
        if not name or repo_type not in REPO_TYPE_FOLDERS:
            return _hub_error(400, None, f"bad create-repo payload: {body}")
        repo_id = f"{owner}/{name}"
        prefix = "" if repo_type == "model" else f"{REPO_TYPE_FOLDERS[repo_type]}/"
        url = f"{public_url()}/{prefix}{repo_id}"
        try:
            repos.create(repo_id, repo_type)
        except FileExistsError:
            return JSONResponse({"error": f"You already created this {repo_type} repo", "url": url}, status_code=409)
        except ValueError as exc:
            return _hub_error(400, None, str(exc))
        repos.commit(
            repo_id,
            {".gitattributes": "# created by the Hub write-API emulation in tests/hub_emulation.py\n"},
            message="initial commit",
            repo_type=repo_type,
        )
        return JSONResponse({"url": url, "name": repo_id, "id": repo_id})

    async def preupload(request: Request):
        repo_id, repo_type = repo_of(request)
        revision = request.path_params["revision"]
        if not repos.exists(repo_id, repo_type):
            return not_found(repo_id)
        if repos.resolve(repo_id, revision, repo_type) is None:
            return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        existing = repos.files(repo_id, revision, repo_type)
        body = await request.json()
        files = [
            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": existing.get(f["path"])}
            for f in body.get("files", [])
        ]
        return JSONResponse({"files": files, "commitOid": repos.resolve(repo_id, revision, repo_type)})

    async def commit(request: Request):
        repo_id, repo_type = repo_of(request)
        branch = request.path_params["revision"]
        if request.query_params.get("create_pr"):
            return _hub_error(400, None, "the Hub emulation does not do pull requests (create_pr)")
        if not repos.exists(repo_id, repo_type):
            return not_found(repo_id)
        if repos.branch_head(repo_id, branch, repo_type) is None:
            return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {branch} (commits go to existing branches)")
        header: dict[str, Any] = {}
        files: dict[str, bytes | None] = {}
        deleted_folders: list[str] = []
        for line in (await request.body()).splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item.get("key"), item.get("value", {})
            if key == "header":
                header = value
            elif key == "file":
                if value.get("encoding", "base64") != "base64":
                    return _hub_error(400, None, f"unsupported encoding {value.get('encoding')!r}")
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files[value["path"]] = None
            elif key == "deletedFolder":
                deleted_folders.append(value["path"])
            else:
                return _hub_error(400, None, f"the Hub emulation has no LFS/Xet storage; cannot commit {key!r}")
        existing = repos.files(repo_id, branch, repo_type)
        for path, content in files.items():
            if content is None and path not in existing:
                return _hub_error(404, "EntryNotFound", f"{path} does not exist on {branch!r}")
        try:
            sha = repos.commit(
                repo_id,
                files,
                message=header.get("summary") or "Update files",
                description=header.get("description") or "",
                branch=branch,
                repo_type=repo_type,
                delete=deleted_folders,
                parent=header.get("parentCommit"),
            )
        except RevisionConflictError as exc:
            return _hub_error(412, None, str(exc))
        except ValueError as exc:
            return _hub_error(400, None, str(exc))
        prefix = "" if repo_type == "model" else f"{REPO_TYPE_FOLDERS[repo_type]}/"
        return JSONResponse(
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{public_url()}/{prefix}{repo_id}/commit/{sha}",
                "hookOutput": "",
                "pullRequestUrl": None,
            }
        )

    async def create_ref(request: Request, kind: str):
        repo_id, repo_type = repo_of(request)
        if not repos.exists(repo_id, repo_type):
            return not_found(repo_id)
        body = await request.json() if await request.body() else {}
        try:
            if kind == "tag":
                revision = request.path_params["revision"]
                if repos.resolve(repo_id, revision, repo_type) is None:
                    return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                repos.tag(repo_id, body["tag"], revision, repo_type)
            else:
                start = body.get("startingPoint") or "main"
                if repos.resolve(repo_id, start, repo_type) is None:
                    return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {start}")
                repos.branch(repo_id, request.path_params["revision"], start, repo_type)
        except (HubEmulationError, ValueError, KeyError) as exc:
            return _hub_error(409, None, f"cannot create {kind}: {exc}")
        return JSONResponse({})

    async def validate_yaml(request: Request):
        return JSONResponse({"errors": [], "warnings": []})

    async def whoami(request: Request):
        return JSONResponse(
            {
                "type": "user",
                "id": "0" * 24,
                "name": EMULATED_USER,
                "fullname": "Hub emulation (tests)",
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "emulation", "role": "write"}},
            }
        )

    def hub_error_for(path: str) -> Response | None:
        """The Hub's answer to a miss in a repo that exists, or None (not such a miss: keep olah's answer).

        A missing file is 404 ``EntryNotFound`` with ``X-Repo-Commit``; a missing revision is 404
        ``RevisionNotFound``. The revision is the longest leading part of the path git resolves (branch names may
        contain '/').
        """
        if m := _RESOLVE.match(path):
            repo_id, repo_type, is_file_path = f"{m['owner']}/{m['name']}", m["type"] or "models", True
        elif m := _API_AT_REVISION.match(path):
            repo_id, repo_type, is_file_path = f"{m['owner']}/{m['name']}", m["type"], False
        else:
            return None
        repo_type = _REPO_TYPE_FROM_URL[repo_type]
        if not repos.exists(repo_id, repo_type):
            return None
        parts = m["rest"].split("/")
        for i in range(len(parts), 0, -1):
            revision, filename = "/".join(parts[:i]), "/".join(parts[i:])
            if (sha := repos.resolve(repo_id, revision, repo_type)) is None:
                continue
            if not is_file_path or filename in repos.files(repo_id, sha, repo_type):
                return None
            if filename:
                message = f"{filename} does not exist on {revision!r}"
                return _hub_error(404, "EntryNotFound", message, **{"X-Repo-Commit": sha})
        return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {parts[0]}")

    async def proxy(request: Request):
        client: httpx.AsyncClient = state["client"]
        upstream = olah_url()
        headers = [
            (k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP | {"host", "content-length"}
        ]
        body = await request.body()
        path = request.url.path
        m = _API_REPO.match(path) if hub_compat and request.method in ("GET", "HEAD") else None
        if m and repos.exists(f"{m['owner']}/{m['name']}", _REPO_TYPE_FROM_URL[m["type"]]):
            # offline olah answers repo info without a revision from its cache only (401 for mirrors): ask for the
            # default branch, which is what the Hub answers
            path = f"/api/{m['type']}/{m['owner']}/{m['name']}/revision/main"
        url = upstream + path + (f"?{request.url.query}" if request.url.query else "")
        outgoing = client.build_request(request.method, url, headers=headers, content=body)
        response = await client.send(outgoing, stream=True)
        if (
            hub_compat
            and (response.status_code >= 500 or response.headers.get("x-error-code") == "RepoNotFound")
            and (fixed := hub_error_for(request.url.path)) is not None
        ):
            await response.aclose()
            return fixed
        out_headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        if "location" in out_headers and out_headers["location"].startswith(upstream):
            out_headers["location"] = public_url() + out_headers["location"][len(upstream) :]
        if request.method == "HEAD":
            await response.aclose()
            return Response(status_code=response.status_code, headers=out_headers)
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers=out_headers,
            background=BackgroundTask(response.aclose),
        )

    async def create_tag(request: Request):
        return await create_ref(request, "tag")

    async def create_branch(request: Request):
        return await create_ref(request, "branch")

    def only_repo_types(handler):
        """``/api/{type}/...`` is emulated for models/datasets/spaces only; anything else goes to olah."""

        async def route(request: Request):
            if request.path_params["type"] not in _REPO_TYPE_FROM_URL:
                return await proxy(request)
            return await handler(request)

        return route

    repo = "/api/{type}/{owner}/{name}"
    routes = [
        Route("/api/repos/create", create_repo, methods=["POST"]),
        Route("/api/validate-yaml", validate_yaml, methods=["POST"]),
        Route("/api/whoami-v2", whoami, methods=["GET"]),
        Route(repo + "/preupload/{revision:path}", only_repo_types(preupload), methods=["POST"]),
        Route(repo + "/commit/{revision:path}", only_repo_types(commit), methods=["POST"]),
        Route(repo + "/tag/{revision:path}", only_repo_types(create_tag), methods=["POST"]),
        Route(repo + "/branch/{revision:path}", only_repo_types(create_branch), methods=["POST"]),
        Route("/{path:path}", proxy, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


# --------------------------------------------------------------------------------------------------------------------
# all together


class LocalHub:
    """olah + the write emulation on 127.0.0.1; ``endpoint`` is what ``HF_ENDPOINT`` should be.

    ``hub_compat=True`` (default) corrects offline olah's answers where they differ from the Hub's (see
    ``create_front_app``); ``olah_url`` is olah itself, without the front app, for looking at its raw answers.
    """

    def __init__(self, root: str | os.PathLike | None = None, *, hub_compat: bool = True) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="hub-emulation-")) if root is None else Path(root)
        self.repos = GitRepos(self.root / "mirrors")
        self.hub_compat = hub_compat
        self.olah: OlahProcess | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.endpoint = ""

    @property
    def repos_path(self) -> Path:
        """olah's ``mirrors-path``: ``<repos_path>/models/<owner>/<name>`` are bare git repositories."""
        return self.repos.root

    @property
    def olah_url(self) -> str:
        assert self.olah is not None, "LocalHub not started"
        return self.olah.url

    # -- lifecycle --------------------------------------------------------------------------------------------------

    def start(self) -> LocalHub:
        import uvicorn

        if shutil.which("git") is None:
            raise HubEmulationError("git is not installed (olah and the emulation need it)")
        try:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind(("127.0.0.1", 0))
            port = self._socket.getsockname()[1]
            self.endpoint = f"http://127.0.0.1:{port}"
            work = self.root / "olah"
            work.mkdir(parents=True, exist_ok=True)
            self.olah = OlahProcess(self.repos.root, work, public_netloc=f"127.0.0.1:{port}")
            self.olah.start()
            app = create_front_app(self.repos, lambda: self.olah_url, lambda: self.endpoint, hub_compat=self.hub_compat)
            config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on")
            self._server = uvicorn.Server(config)
            self._thread = threading.Thread(
                target=self._server.run, kwargs={"sockets": [self._socket]}, name="hub-emulation", daemon=True
            )
            self._thread.start()
            deadline = time.monotonic() + 30
            while not self._server.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    raise HubEmulationError(f"the Hub emulation front app did not start on {self.endpoint}")
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self.olah is not None:
            self.olah.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- repositories -----------------------------------------------------------------------------------------------

    def make_repo(
        self,
        repo_id: str,
        files: Mapping[str, FileContent] | None = None,
        *,
        message: str = "initial commit",
        repo_type: str = "model",
    ) -> str:
        """A new repo whose first commit on ``main`` holds exactly ``files``; returns that commit's sha."""
        self.repos.create(repo_id, repo_type)
        return self.repos.commit(repo_id, files or {}, message=message, repo_type=repo_type)

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, FileContent],
        *,
        message: str = "Update files",
        branch: str = "main",
        delete: Iterable[str] = (),
        repo_type: str = "model",
    ) -> str:
        """A new commit on ``branch`` (other files unchanged; None deletes a file); returns its sha."""
        return self.repos.commit(repo_id, files, message=message, branch=branch, delete=delete, repo_type=repo_type)

    def tag(self, repo_id: str, tag: str, revision: str = "main", *, repo_type: str = "model") -> str:
        """Tag ``revision``; returns the tagged commit's sha."""
        return self.repos.tag(repo_id, tag, revision, repo_type)

    def branch(self, repo_id: str, branch: str, revision: str = "main", *, repo_type: str = "model") -> str:
        """Create ``branch`` at ``revision``; returns the commit sha."""
        return self.repos.branch(repo_id, branch, revision, repo_type)

    def resolve(self, repo_id: str, revision: str = "main", *, repo_type: str = "model") -> str | None:
        return self.repos.resolve(repo_id, revision, repo_type)

    def files(self, repo_id: str, revision: str = "main", *, repo_type: str = "model") -> dict[str, str]:
        return self.repos.files(repo_id, revision, repo_type)

    def read(self, repo_id: str, path: str, revision: str = "main", *, repo_type: str = "model") -> bytes:
        return self.repos.read(repo_id, path, revision, repo_type)

    def reset(self) -> None:
        """Delete every repository (between tests)."""
        self.repos.clear()
