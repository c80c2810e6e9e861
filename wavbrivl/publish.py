"""Publishing a model set: the upload folder (save_pretrained + model card) and its upload to the Hub."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from wavbrivl.errors import InputError
from wavbrivl.loading.hub import check_repo_id, upload_model_folder
from wavbrivl.model_card import write_model_card


def prepare_push_folder(pipe: Any, folder: str | Path, repo_id: str | None = None, **card: str | None) -> Path:
    """Write the set (save_pretrained) and its model card README.md into an empty or new folder; returns it.

    card: license and data_description, as write_model_card takes them (they fill what the set does not record).
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder}: the upload folder must be new or empty (everything in it would be uploaded)")
    pipe.save_pretrained(folder)
    write_model_card(pipe, folder, repo_id, **card)
    return folder


def push_to_hub(
    pipe: Any,
    repo_id: str,
    folder: str | Path | None = None,
    card: dict[str, str | None] | None = None,
    **upload: Any,
) -> str:
    """Prepare the upload folder (in `folder`, else a temporary one) and upload it; returns the commit URL."""
    check_repo_id(repo_id)
    if folder is not None:
        return upload_model_folder(prepare_push_folder(pipe, folder, repo_id, **(card or {})), repo_id, **upload)
    with tempfile.TemporaryDirectory(prefix="wavbrivl-push-") as tmp:
        prepared = prepare_push_folder(pipe, Path(tmp) / "model", repo_id, **(card or {}))
        return upload_model_folder(prepared, repo_id, **upload)
