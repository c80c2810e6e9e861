"""The Hugging Face Hub: resolve weights given as a local path or a Hub id, and upload a model folder."""

from __future__ import annotations

import re
from pathlib import Path

from wavbrivl.errors import InputError, WavBriVLError, WeightsError

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def is_hub_id(spec: str) -> bool:
    """True for 'owner/name' strings that are not existing local paths."""
    return bool(HUB_ID.match(spec)) and not Path(spec).exists()


def resolve(spec: str | Path, filename: str | None = None, what: str = "weights") -> Path:
    """A local file or folder for spec: the path itself, or a Hub file/snapshot fetched by huggingface_hub."""
    text = str(spec)
    path = Path(text).expanduser()
    if path.exists():
        return path
    if not is_hub_id(text):
        raise WeightsError(f"{what}: {text} is neither an existing path nor a Hub id of the form owner/name")
    try:
        from huggingface_hub import hf_hub_download, snapshot_download

        if filename:
            return Path(hf_hub_download(repo_id=text, filename=filename))
        return Path(snapshot_download(repo_id=text))
    except Exception as err:  # noqa: BLE001 - offline, missing repo, auth: all end the same way for a user
        target = f"{text}/{filename}" if filename else text
        raise WeightsError(
            f"{what}: could not get {target} from the Hugging Face Hub ({type(err).__name__}: {err}). "
            "Download it where you have network and pass the local path instead."
        ) from None


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
