"""A stand-in for the Hugging Face Hub: a small HTTP server on 127.0.0.1 that the real `huggingface_hub` client (and
`transformers` / `diffusers` `from_pretrained` through it) downloads from when pointed at it with HF_ENDPOINT.

It answers exactly what the installed client asks for (huggingface_hub 2.4: `file_download.py`,
`_snapshot_download.py`, `hf_api.py`, `utils/_http.py`):

- `HEAD|GET /{repo}/resolve/{revision}/{path}` (`/datasets/...`, `/spaces/...` for other repo types): the file, with
  `X-Repo-Commit`, `ETag` (git blob sha1, or the sha256 for a file the Hub keeps in LFS, then also `X-Linked-Etag`
  and `X-Linked-Size`), `Content-Length`, `Accept-Ranges`; a `Range: bytes=a-b` GET (a resumed download) gets 206.
  No redirect and no Xet headers, so the client takes its plain HTTP path and never leaves this server.
- `GET /api/{models|datasets|spaces}/{repo}[/revision/{revision}]`: the repo info JSON (`id`, `sha`, `siblings`, with
  `size`, `blobId` and `lfs` when `blobs=true`, i.e. `files_metadata=True`).
- `GET /api/{models|datasets|spaces}/{repo}/tree/{revision}[/{path}]`: the listing, recursive on `recursive=true`, in
  one page (no `Link` header, so the client asks for no next page).
- A missing repo: 404 with `X-Error-Code: RepoNotFound` (-> `RepositoryNotFoundError`); a missing file: 404 with
  `X-Error-Code: EntryNotFound` and `X-Repo-Commit` (-> `RemoteEntryNotFoundError`, which the client also caches as
  `.no_exist`). Neither status is one the client retries. Any other route: a plain 404 (-> `HfHubHTTPError`).

Any revision resolves to the repo's current files; its commit is a fake sha1 of the repo's content (a 40-hex
revision is echoed back, so a download pinned to a commit stays in that commit's snapshot folder).

`hub_environment` points this process (the constants huggingface_hub, transformers and diffusers read or copied at
import) and its subprocesses (environment variables) at a hub, online, with an empty cache; `offline_environment`
switches the same process back to offline mode on the same cache. Both go through pytest's `monkeypatch`, so the
test's teardown restores everything, including the copies made by a module first imported during the test.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import socketserver
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

# What the Hub keeps in git LFS: a repo's usual .gitattributes patterns, and any file over 10 MB.
LFS_SUFFIXES = (
    ".7z .arrow .bin .bz2 .ckpt .ftz .gguf .gz .h5 .joblib .mlmodel .model .msgpack .npy .npz .onnx .ot .parquet .pb "
    ".pickle .pkl .pt .pth .rar .safetensors .tar .tflite .tgz .wasm .xz .zip .zst"
).split()
LFS_MIN_SIZE = 10 * 1024 * 1024

FAKE_DATE = "2024-01-01T00:00:00.000Z"
_REPO_TYPE_OF_API = {"models": "model", "datasets": "dataset", "spaces": "space"}
_REPO_TYPE_OF_URL_PREFIX = {"datasets": "dataset", "spaces": "space"}
_COMMIT = re.compile(r"[0-9a-f]{40}")
_CHUNK = 1 << 20


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _git_blob_sha1(data: bytes) -> str:
    return _sha1(b"blob %d\0" % len(data) + data)


@dataclass(frozen=True)
class _File:
    """One file of a repo, with the ids the Hub gives it."""

    data: bytes
    blob_id: str  # git sha1 of the blob git stores: the file itself, or its LFS pointer
    lfs_sha256: str | None
    lfs_pointer_size: int | None

    @classmethod
    def of(cls, path_in_repo: str, data: bytes) -> _File:
        """The file as the Hub would store it: in LFS for weights-like or large files."""
        if path_in_repo.lower().endswith(tuple(LFS_SUFFIXES)) or len(data) >= LFS_MIN_SIZE:
            sha256 = hashlib.sha256(data).hexdigest()
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(data)}\n".encode()
            return cls(data, _git_blob_sha1(pointer), sha256, len(pointer))
        return cls(data, _git_blob_sha1(data), None, None)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def etag(self) -> str:
        """What the client names the cached blob after: the sha256 for an LFS file, else the git blob sha1."""
        return self.lfs_sha256 or self.blob_id


@dataclass
class _Repo:
    repo_id: str
    repo_type: str
    files: dict[str, _File] = field(default_factory=dict)

    @property
    def sha(self) -> str:
        """A fake commit: the sha1 of the repo's paths and blob ids, so it changes when the content does."""
        listing = "".join(f"{path}\0{self.files[path].blob_id}\n" for path in sorted(self.files))
        return _sha1(f"{self.repo_type}/{self.repo_id}\n{listing}".encode())

    def folders(self) -> set[str]:
        """Every folder that holds a file, at any depth."""
        found = set()
        for path in self.files:
            parts = path.split("/")[:-1]
            found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return found


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    hub: StandInHub

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks socket.getfqdn() for a name: a reverse DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client gone mid-answer (e.g. a test that stops reading) is not worth a traceback on stderr
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    server_version = "StandInHub/1.0"
    protocol_version = "HTTP/1.0"  # one request per connection: nothing pooled outlives a stopped server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_POST(self) -> None:
        self._unsupported("POST")

    def do_PUT(self) -> None:
        self._unsupported("PUT")

    def do_DELETE(self) -> None:
        self._unsupported("DELETE")

    def do_PATCH(self) -> None:
        self._unsupported("PATCH")

    # --- routing -----------------------------------------------------------------------------------------------

    def _answer(self, method: str) -> None:
        hub = self.server.hub
        parts = urlsplit(self.path)
        hub._log(method, unquote(parts.path))
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        segments = [s for s in parts.path.split("/") if s]  # still quoted: a quoted "/" stays inside its segment
        if len(segments) >= 3 and segments[0] == "api" and segments[1] in _REPO_TYPE_OF_API:
            self._api(method, _REPO_TYPE_OF_API[segments[1]], segments[2:], query)
        else:
            self._resolve(method, segments)

    def _find_repo(self, repo_type: str, segments: list[str], marker: str | None) -> tuple[_Repo | None, list[str]]:
        """The repo named by the first one or two segments (followed by `marker` when given), and what follows."""
        hub = self.server.hub
        for n in (2, 1):
            if len(segments) < n or (marker is not None and (len(segments) <= n or segments[n] != marker)):
                continue
            repo = hub._repo(repo_type, "/".join(unquote(s) for s in segments[:n]))
            if repo is not None:
                return repo, segments[n:]
        return None, []

    def _resolve(self, method: str, segments: list[str]) -> None:
        repo_type = "model"
        if segments and segments[0] in _REPO_TYPE_OF_URL_PREFIX:
            repo_type, segments = _REPO_TYPE_OF_URL_PREFIX[segments[0]], segments[1:]
        if "resolve" not in segments[1:3]:
            return self._error(404, None, "Not served by the stand-in hub")
        repo, rest = self._find_repo(repo_type, segments, "resolve")
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        if len(rest) < 3:
            return self._error(404, "EntryNotFound", "Entry not found", commit=repo.sha)
        revision, path = unquote(rest[1]), unquote("/".join(rest[2:]))
        commit = self._commit_of(repo, revision)
        file = repo.files.get(path)
        if file is None:
            return self._error(404, "EntryNotFound", "Entry not found", commit=commit)
        self._send_file(method, repo, path, file, commit)

    def _api(self, method: str, repo_type: str, segments: list[str], query: dict[str, str]) -> None:
        repo, rest = self._find_repo(repo_type, segments, None)
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        if not rest or (len(rest) == 2 and rest[0] == "revision"):
            revision = unquote(rest[1]) if rest else "main"
            return self._json(method, self._info(repo, revision, _true(query.get("blobs"))))
        if len(rest) >= 2 and rest[0] == "tree":
            revision, base = unquote(rest[1]), unquote("/".join(rest[2:])).strip("/")
            return self._tree(method, repo, revision, base, _true(query.get("recursive")), _true(query.get("expand")))
        self._error(404, None, "Not served by the stand-in hub")

    def _unsupported(self, method: str) -> None:
        self.server.hub._log(method, unquote(urlsplit(self.path).path))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._error(404, None, "Not served by the stand-in hub")

    # --- answers -----------------------------------------------------------------------------------------------

    def _commit_of(self, repo: _Repo, revision: str) -> str:
        return revision if _COMMIT.fullmatch(revision) else repo.sha

    def _info(self, repo: _Repo, revision: str, blobs: bool) -> dict[str, Any]:
        commit = self._commit_of(repo, revision)
        siblings = []
        for path in sorted(repo.files):
            sibling: dict[str, Any] = {"rfilename": path}
            file = repo.files[path]
            if blobs:
                sibling.update(size=file.size, blobId=file.blob_id)
                if file.lfs_sha256 is not None:
                    sibling["lfs"] = {
                        "size": file.size,
                        "sha256": file.lfs_sha256,
                        "pointerSize": file.lfs_pointer_size,
                    }
            siblings.append(sibling)
        info: dict[str, Any] = {
            "_id": commit[:24],
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0] if "/" in repo.repo_id else None,
            "sha": commit,
            "lastModified": FAKE_DATE,
            "createdAt": FAKE_DATE,
            "private": False,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
            "usedStorage": sum(f.size for f in repo.files.values()),
        }
        if repo.repo_type == "model":
            info.update(modelId=repo.repo_id, spaces=[])
        return info

    def _tree(self, method: str, repo: _Repo, revision: str, base: str, recursive: bool, expand: bool) -> None:
        commit = self._commit_of(repo, revision)
        folders = repo.folders()
        if base and base not in folders:
            return self._error(404, "EntryNotFound", f"{base} does not exist on {revision}", commit=commit)
        prefix = f"{base}/" if base else ""

        def wanted(path: str) -> bool:
            return path.startswith(prefix) and (recursive or "/" not in path[len(prefix) :])

        entries: list[dict[str, Any]] = []
        for folder in sorted(f for f in folders if wanted(f)):
            entries.append(
                {"type": "directory", "oid": _sha1(f"tree {commit} {folder}".encode()), "size": 0, "path": folder}
            )
        for path in sorted(p for p in repo.files if wanted(p)):
            file = repo.files[path]
            entry: dict[str, Any] = {"type": "file", "oid": file.blob_id, "size": file.size, "path": path}
            if file.lfs_sha256 is not None:
                entry["lfs"] = {"oid": file.lfs_sha256, "size": file.size, "pointerSize": file.lfs_pointer_size}
            entries.append(entry)
        if expand:
            for entry in entries:
                entry["lastCommit"] = {"id": commit, "title": "Stand-in commit", "date": FAKE_DATE}
        self._json(method, entries)

    def _send_file(self, method: str, repo: _Repo, path: str, file: _File, commit: str) -> None:
        start, end, status = 0, file.size - 1, 200
        range_header = self.headers.get("Range") if method == "GET" else None
        if range_header:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_header.strip())
            if match is None or not (match[1] or match[2]):
                return self._range_not_satisfiable(file)
            if match[1]:
                start, end = int(match[1]), min(int(match[2]), file.size - 1) if match[2] else file.size - 1
            else:  # a suffix: the last N bytes
                start = max(file.size - int(match[2]), 0)
            if start > end or start >= file.size:
                return self._range_not_satisfiable(file)
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{file.etag}"')
        self.send_header("X-Repo-Commit", commit)
        if file.lfs_sha256 is not None:
            self.send_header("X-Linked-Etag", f'"{file.lfs_sha256}"')
            self.send_header("X-Linked-Size", str(file.size))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{file.size}")
        self.end_headers()
        if method == "GET":
            # recorded before the body goes out: the client may finish reading before this thread runs again
            self.server.hub._record_fetch(repo, path)
            for offset in range(start, end + 1, _CHUNK):
                self.wfile.write(file.data[offset : min(offset + _CHUNK, end + 1)])
            self.wfile.flush()

    def _range_not_satisfiable(self, file: _File) -> None:
        self.send_response(416)
        self.send_header("Content-Range", f"bytes */{file.size}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, method: str, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str, commit: str | None = None) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if code is not None:
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
        if commit is not None:
            self.send_header("X-Repo-Commit", commit)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


class StandInHub:
    """A stand-in Hugging Face Hub on 127.0.0.1: add repos' files, `start()`, point the client at `url`."""

    def __init__(self) -> None:
        """An empty hub, not yet serving."""
        self._lock = threading.Lock()
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._log_entries: list[tuple[str, str]] = []
        self._fetches: list[tuple[str, str, str]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- content -----------------------------------------------------------------------------------------------

    def add_file(self, repo_id: str, path_in_repo: str, data: bytes | str | Path, repo_type: str = "model") -> None:
        """Put one file in a repo (created on first use): bytes, text (UTF-8), or a local file's content."""
        if isinstance(data, Path):
            data = data.read_bytes()
        elif isinstance(data, str):
            data = data.encode()
        path_in_repo = path_in_repo.replace(os.sep, "/").strip("/")
        if not path_in_repo:
            raise ValueError("path_in_repo is empty")
        with self._lock:
            repo = self._repos.setdefault((repo_type, repo_id), _Repo(repo_id, repo_type))
            repo.files[path_in_repo] = _File.of(path_in_repo, bytes(data))

    def add_folder(self, repo_id: str, folder: Path, prefix: str = "", repo_type: str = "model") -> None:
        """Put every file under `folder` in a repo, at its path relative to `folder` (under `prefix`)."""
        folder = Path(folder)
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                relative = path.relative_to(folder).as_posix()
                self.add_file(repo_id, f"{prefix.strip('/')}/{relative}" if prefix else relative, path, repo_type)

    def commit(self, repo_id: str, repo_type: str = "model") -> str:
        """The repo's current (fake) commit sha, as the server reports it in `X-Repo-Commit` and `sha`."""
        repo = self._repo(repo_type, repo_id)
        if repo is None:
            raise KeyError(repo_id)
        return repo.sha

    def _repo(self, repo_type: str, repo_id: str) -> _Repo | None:
        """A copy of the repo as it is now (a request sees one state even if a test adds files meanwhile)."""
        with self._lock:
            repo = self._repos.get((repo_type, repo_id))
            return None if repo is None else _Repo(repo.repo_id, repo.repo_type, dict(repo.files))

    # --- serving -----------------------------------------------------------------------------------------------

    def start(self) -> StandInHub:
        """Serve on a free loopback port, in a daemon thread."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.hub = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="stand-in-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> StandInHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The endpoint to give the client, e.g. http://127.0.0.1:PORT."""
        if self._server is None:
            raise RuntimeError("the stand-in hub is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- what the client asked -------------------------------------------------------------------------------

    def _log(self, method: str, path: str) -> None:
        with self._lock:
            self._log_entries.append((method, path))

    def _record_fetch(self, repo: _Repo, path: str) -> None:
        with self._lock:
            self._fetches.append((repo.repo_type, repo.repo_id, path))

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request received so far, in order, as (method, path without the query string)."""
        with self._lock:
            return list(self._log_entries)

    def clear_log(self) -> None:
        """Forget the requests and fetches seen so far."""
        with self._lock:
            self._log_entries.clear()
            self._fetches.clear()

    def fetched(self, repo_id: str, repo_type: str = "model") -> set[str]:
        """The paths in the repo whose content a GET on /resolve/ has sent (HEAD requests do not count)."""
        with self._lock:
            return {path for kind, rid, path in self._fetches if (kind, rid) == (repo_type, repo_id)}


# --- pointing the client at a hub ----------------------------------------------------------------------------------

# huggingface_hub.constants computes its values from the environment once, at import; other modules copy some of
# them at their own import (diffusers: `from huggingface_hub.constants import HF_HUB_OFFLINE`, its own
# HUGGINGFACE_CO_RESOLVE_ENDPOINT from HF_ENDPOINT), and HfApi objects made at import keep the endpoint of that
# moment. Setting environment variables alone changes none of them in a running process.


class _UndoHook:
    """Calls `callback` when monkeypatch restores its `armed` attribute: a teardown step in monkeypatch's own undo."""

    def __init__(self, callback: Any) -> None:
        object.__setattr__(self, "_callback", callback)
        object.__setattr__(self, "armed", False)

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name == "armed" and not value:
            self._callback()


def _module_copies(names: dict[str, Any], skip: object) -> list[tuple[str, Any, str]]:
    """(module name, module, name) for each loaded module but `skip` whose global `name` equals `names[name]`."""
    found = []
    for module_name, module in list(sys.modules.items()):
        if module is skip or module_name == "__main__" or not issubclass(type(module), types.ModuleType):
            continue
        namespace = module.__dict__
        for name, value in names.items():
            if name in namespace and type(namespace[name]) is type(value) and namespace[name] == value:
                found.append((module_name, module, name))
    return found


def _hf_api_instances(endpoint: str) -> list[Any]:
    """Module-level HfApi objects (e.g. huggingface_hub.hf_api.api behind `model_info`) bound to `endpoint`."""
    from huggingface_hub import HfApi

    found: dict[int, Any] = {}
    for module in list(sys.modules.values()):
        if not issubclass(type(module), types.ModuleType):
            continue
        for value in list(module.__dict__.values()):
            # type(), not isinstance(): the latter asks the object for __class__, which some lazy or deprecated
            # objects answer with an import or a warning (torch.distributed.reduce_op)
            if issubclass(type(value), HfApi) and value.endpoint == endpoint:
                found[id(value)] = value
    return list(found.values())


def _set_offline_constant(monkeypatch: Any, offline: bool) -> None:
    """huggingface_hub's offline flag, and its copies in other modules, to `offline`."""
    from huggingface_hub import constants

    for _, module, name in _module_copies({"HF_HUB_OFFLINE": constants.HF_HUB_OFFLINE}, skip=constants):
        monkeypatch.setattr(module, name, offline)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)


def hub_environment(hub: StandInHub, monkeypatch: Any, home: Path) -> dict[str, str]:
    """Point this process and its subprocesses at `hub`, online, with `home` as HF_HOME; returns the env vars set."""
    import huggingface_hub.hf_file_system
    import huggingface_hub.utils._http as hf_http
    from huggingface_hub import constants

    try:  # imported now, under the current environment, so that its import-time copies are not the patched values
        import transformers.utils.hub as transformers_hub
    except ImportError:
        transformers_hub = None

    home = Path(home)
    cache = home / "hub"
    url = hub.url
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY") or os.environ.get("no_proxy"), "127.0.0.1,localhost"]))
    env = {
        "HF_ENDPOINT": url,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(cache),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_XET_CACHE": str(home / "xet"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        # transformers, loading a pytorch_model.bin online, starts a thread that asks the Hub's safetensors converter
        # (a Space on another host) for a conversion PR: not here
        "DISABLE_SAFETENSORS_CONVERSION": "1",
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
    }
    if hasattr(constants, "HF_HUB_DISABLE_XET"):
        env["HF_HUB_DISABLE_XET"] = "1"

    # Values as huggingface_hub.constants would have computed them at import under `env`.
    patched: dict[str, Any] = {
        "ENDPOINT": url,
        "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_OFFLINE": False,
        "HF_HOME": str(home),
        "default_cache_path": str(cache),
        "default_assets_cache_path": str(home / "assets"),
        "HUGGINGFACE_HUB_CACHE": str(cache),
        "HF_HUB_CACHE": str(cache),
        "HUGGINGFACE_ASSETS_CACHE": str(home / "assets"),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "default_xet_cache_path": str(home / "xet"),
        "HF_XET_CACHE": str(home / "xet"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_DISABLE_UPDATE_CHECK": True,
    }
    patched = {name: value for name, value in patched.items() if hasattr(constants, name)}
    original = {name: getattr(constants, name) for name in patched}
    # the copies kept under another name: diffusers' HUGGINGFACE_CO_RESOLVE_ENDPOINT reads HF_ENDPOINT itself
    copy_values = {**original, "HUGGINGFACE_CO_RESOLVE_ENDPOINT": original["ENDPOINT"]}
    patched_copies = {**patched, "HUGGINGFACE_CO_RESOLVE_ENDPOINT": url}
    original_endpoint = original["ENDPOINT"]

    already_imported = set(sys.modules)

    def repair_late_imports() -> None:
        # Runs last in monkeypatch's undo, once the constants are restored: a module first imported during the test
        # copied the patched values and no monkeypatch entry restores it, so put back what it would have copied; and
        # an HfApi made during the test and kept in a module global goes back to the restored endpoint.
        restored = {name: getattr(constants, name) for name in patched}
        restored["HUGGINGFACE_CO_RESOLVE_ENDPOINT"] = restored["ENDPOINT"]
        for module_name, module, name in _module_copies(patched_copies, skip=constants):
            if module_name not in already_imported:
                setattr(module, name, restored[name])
        for api in _hf_api_instances(url):
            api.endpoint = restored["ENDPOINT"]

    hook = _UndoHook(repair_late_imports)
    monkeypatch.setattr(hook, "armed", True)  # first in, so last out

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_CACHE", "HUGGINGFACE_CO_STAGING"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    for _, module, name in _module_copies(copy_values, skip=constants):
        monkeypatch.setattr(module, name, patched_copies[name])
    for name, value in patched.items():
        monkeypatch.setattr(constants, name, value)
    if hasattr(constants, "HF_URL_HOSTS"):
        monkeypatch.setattr(constants, "HF_URL_HOSTS", frozenset(constants.HF_URL_HOSTS | {"127.0.0.1"}))
    if hasattr(hf_http, "_HUB_ORIGINS") and hasattr(hf_http, "_url_origin"):
        monkeypatch.setattr(hf_http, "_HUB_ORIGINS", frozenset(hf_http._HUB_ORIGINS | {hf_http._url_origin(url)}))

    # HfApi objects made at import keep the endpoint of that moment: huggingface_hub.hf_api.api (behind the module
    # functions model_info, list_repo_files, ...), the HfFileSystem singleton's, and transformers' cached hf_api().
    for api in _hf_api_instances(original_endpoint):
        monkeypatch.setattr(api, "endpoint", url)
    hffs = getattr(huggingface_hub.hf_file_system, "hffs", None)
    if hffs is not None and getattr(hffs, "endpoint", None) == original_endpoint:
        monkeypatch.setattr(hffs, "endpoint", url)
        if getattr(getattr(hffs, "_api", None), "endpoint", None) == original_endpoint:
            monkeypatch.setattr(hffs._api, "endpoint", url)
    if transformers_hub is not None and hasattr(transformers_hub, "_hf_api"):
        monkeypatch.setattr(transformers_hub, "_hf_api", None)
    # a fresh HTTP client for the test, made under the new environment (proxies are read when a client is made);
    # the old one comes back untouched afterwards
    if hasattr(hf_http, "_GLOBAL_CLIENT"):
        monkeypatch.setattr(hf_http, "_GLOBAL_CLIENT", None)

        def close_test_client() -> None:  # undone before the client above is restored: the test's own client
            client = hf_http._GLOBAL_CLIENT
            if client is not None:
                client.close()

        monkeypatch.setattr(_UndoHook(close_test_client), "armed", True)
    return env


def offline_environment(monkeypatch: Any) -> None:
    """Switch this process (and subprocesses) to offline mode, keeping the endpoint and HF_HOME cache set before."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    _set_offline_constant(monkeypatch, True)
