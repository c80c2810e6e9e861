"""Publishing a model set: the upload folder (save_pretrained + model card) that push_to_hub and `push` upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wavbrivl.errors import InputError
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
