"""The Hugging Face Hub: weights named by a local path or a Hub id (only the files a loader reads are fetched,
repo_files.py picks them), and the upload of a model folder."""

from __future__ import annotations

import re
from pathlib import Path

from wavbrivl.errors import InputError, WavBriVLError, WeightsError
from wavbrivl.loading.repo_files import pick

SINGLE_FILE_KINDS = ("taming_config",)
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def is_hub_id(spec: str) -> bool:
    """True for 'owner/name' strings that are not existing local paths."""
    return bool(HUB_ID.match(spec)) and not Path(spec).exists()


def cached_snapshot(repo_id: str) -> Path:
    """The cached snapshot folder of a repo's main branch (what an earlier download left), for offline use."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    storage = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model")
    ref = storage / "refs" / "main"
    folder = storage / "snapshots" / (ref.read_text().strip() if ref.is_file() else "-")
    if not folder.is_dir():
        raise FileNotFoundError(f"no cached snapshot of {repo_id} in {constants.HF_HUB_CACHE}")
    return folder


def repo_listing(repo_id: str, what: str) -> tuple[list[str], bool]:
    """The repo's file list and whether it came from the Hub (else from the local cache, when offline)."""
    from huggingface_hub import HfApi, constants

    try:
        if not constants.HF_HUB_OFFLINE:
            return HfApi().list_repo_files(repo_id), True
        folder = cached_snapshot(repo_id)
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()), False
    except Exception as err:  # noqa: BLE001 - offline, missing repo, auth: all end the same way for a user
        if constants.HF_HUB_OFFLINE:
            raise WeightsError(
                f"{what}: {repo_id} is not in the local Hub cache and HF_HUB_OFFLINE is set; fetch it first where "
                "you have network (`wavbrivl download --preset NAME`), or pass a local path instead"
            ) from None
        raise WeightsError(
            f"{what}: could not list {repo_id} on the Hugging Face Hub ({type(err).__name__}: {err}). "
            "Check the id, your network (HF_HUB_OFFLINE) and your login, or pass a local path instead."
        ) from None


def plan(repo_id: str, kind: str, what: str = "weights") -> list[str]:
    """The files of a Hub repo a loader of this kind reads, checked against its listing (nothing downloaded)."""
    return pick(kind, repo_listing(repo_id, what)[0], repo_id)


def fetch(repo_id: str, kind: str, what: str = "weights") -> Path:
    """The local snapshot folder of a Hub repo holding just the files a loader of this kind reads."""
    return fetch_files(repo_id, kind, what)[0]


def fetch_files(repo_id: str, kind: str, what: str = "weights") -> tuple[Path, list[str]]:
    """fetch, and the files it holds for this kind (relative to the folder)."""
    from huggingface_hub import snapshot_download

    files, online = repo_listing(repo_id, what)
    wanted = pick(kind, files, repo_id)
    try:
        folder = Path(snapshot_download(repo_id=repo_id, allow_patterns=wanted, local_files_only=not online))
    except Exception as err:  # noqa: BLE001
        raise WeightsError(
            f"{what}: could not get {', '.join(wanted)} from {repo_id} ({type(err).__name__}: {err}). "
            "Download it where you have network (`wavbrivl download`) and try again, or pass a local path."
        ) from None
    missing = [f for f in wanted if not (folder / f).is_file()]
    if missing:
        raise WeightsError(f"{what}: {repo_id} is cached without {missing}; run `wavbrivl download` with network")
    return folder, wanted


def resolve(spec: str | Path, kind: str, what: str = "weights") -> Path:
    """A local file or folder for spec: the path itself, or what a loader of this kind reads of a Hub repo.

    For a taming config the path is that file; for the others the snapshot folder.
    """
    text = str(spec)
    path = Path(text).expanduser()
    if path.exists():
        return path
    if not is_hub_id(text):
        raise WeightsError(f"{what}: {text} is neither an existing path nor a Hub id of the form owner/name")
    folder = fetch(text, kind, what)
    if kind in SINGLE_FILE_KINDS:
        files = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
        return folder / pick(kind, files, text)[0]
    return folder


def check_repo_id(repo_id: str) -> str:
    """repo_id itself when it has the form owner/name, else an InputError saying what is accepted."""
    if not HUB_ID.match(str(repo_id)):
        raise InputError(f"repo {repo_id!r}: a Hub model repo is named owner/name (letters, digits, '-', '_', '.')")
    return str(repo_id)


def upload_model_folder(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload WavBriVL model set",
) -> str:
    """Create the Hub model repo if missing (exist_ok) and upload the folder as one commit; returns its URL.

    repo_id is taken as checked (check_repo_id, by the caller before any work).
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.upload_folder(
            repo_id=repo_id, folder_path=str(folder), commit_message=commit_message, repo_type="model"
        )
    except Exception as err:  # noqa: BLE001 - offline, no token, no rights: all end the same way for a user
        raise WavBriVLError(
            f"could not upload {folder} to the Hugging Face Hub repo {repo_id} ({type(err).__name__}: {err}). "
            "Log in (`hf auth login` or HF_TOKEN) where you have network, or keep the folder (--folder) and "
            "upload it later."
        ) from None
    return str(getattr(commit, "commit_url", commit))
