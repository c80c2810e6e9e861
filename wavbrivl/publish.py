"""Publishing a model set: the upload folder (save_pretrained + model card), then the Hub upload."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from wavbrivl.errors import InputError
from wavbrivl.hub import check_repo_id, upload_model_folder
from wavbrivl.model_card import write_model_card


def prepare_push_folder(
    pipe: Any,
    folder: str | Path,
    repo_id: str | None = None,
    license: str | None = None,
    data_description: str | None = None,
) -> Path:
    """Write the set (save_pretrained) and its model card README.md into an empty or new folder; returns it."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder}: the upload folder must be new or empty (everything in it would be uploaded)")
    pipe.save_pretrained(folder)
    write_model_card(pipe, folder, repo_id, license, data_description)
    return folder


def push_pipeline(
    pipe: Any,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload WavBriVL model set",
    license: str | None = None,
    data_description: str | None = None,
    folder: str | Path | None = None,
) -> str:
    """Prepare the upload folder (a temporary one unless folder is given) and upload it; returns the commit URL."""
    check_repo_id(repo_id)
    if folder is not None:
        prepared = prepare_push_folder(pipe, folder, repo_id, license, data_description)
        return upload_model_folder(prepared, repo_id, private=private, token=token, commit_message=commit_message)
    with tempfile.TemporaryDirectory(prefix="wavbrivl-push-") as tmp:
        prepared = prepare_push_folder(pipe, Path(tmp) / "model", repo_id, license, data_description)
        return upload_model_folder(prepared, repo_id, private=private, token=token, commit_message=commit_message)
