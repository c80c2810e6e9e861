"""Resolve weights given as a local path or a Hugging Face Hub id (downloads only outside tests)."""

from __future__ import annotations

import re
from pathlib import Path

from wavbrivl.errors import WeightsError

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
