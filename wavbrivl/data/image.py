"""Image input: paths, bytes, arrays and PIL images into RGB PIL images."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from wavbrivl.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
ACCEPTED = "a JPEG/PNG/WebP/BMP/GIF/TIFF file, a PIL image or an (H, W[, C]) uint8/float array"
MAX_PIXELS = 89_478_485  # PIL's default MAX_IMAGE_PIXELS (a 250 MB RGB picture), whatever PIL is set to

ImageSource = str | os.PathLike | bytes | np.ndarray | Image.Image


def _too_large(label: str, pixels: int) -> InputError:
    return InputError(
        f"{label}: {pixels:,} pixels is more than the {MAX_PIXELS:,} an image may have "
        "(refused as a possible decompression bomb); expected an ordinary picture, e.g. under 8000 x 8000"
    )


def load_image(source: ImageSource, name: str | None = None) -> Image.Image:
    """Load one image as RGB, with a clear error for missing, corrupt or non-image input."""
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "image")
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, (str, os.PathLike, bytes, bytearray)):
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if not path.is_file():
                raise InputError(f"{label}: no such image file")
            if path.stat().st_size == 0:
                raise InputError(f"{label}: the file is empty (0 bytes); expected {ACCEPTED}")
        fp: Any = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray)) else source
        try:
            image = Image.open(fp)
            if image.width * image.height > MAX_PIXELS:  # checked from the header, before decoding
                image.close()
                raise _too_large(label, image.width * image.height)
            image.load()
        except InputError:
            raise
        except Image.DecompressionBombError as err:  # PIL's own limit, from the header
            found = re.search(r"\((\d+) pixels\)", str(err))
            raise _too_large(label, int(found.group(1)) if found else MAX_PIXELS + 1) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            why = "cannot identify the image format" if isinstance(err, UnidentifiedImageError) else str(err)
            raise InputError(f"{label}: not a readable image ({why}); expected {ACCEPTED}") from None
    elif isinstance(source, np.ndarray):
        array = source
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
            raise InputError(f"{label}: array of shape {array.shape} is not (H, W) or (H, W, 1|3|4)")
        if array.dtype.kind == "f":
            if not np.all(np.isfinite(array)):
                raise InputError(f"{label}: image array has NaN or infinite values")
            array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
        image = Image.fromarray(
            array.squeeze(-1) if array.ndim == 3 and array.shape[2] == 1 else array.astype(np.uint8)
        )
    else:
        raise InputError(f"{label}: unsupported image input of type {type(source).__name__}; expected {ACCEPTED}")
    if image.width == 0 or image.height == 0:
        raise InputError(f"{label}: image has zero size")
    if image.width * image.height > MAX_PIXELS:
        raise _too_large(label, image.width * image.height)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        base = Image.new("RGB", image.size, (255, 255, 255))
        base.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return base
    return image.convert("RGB")


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """Image files in a folder (sorted, non-recursive)."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{folder}: not a folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"{folder}: holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def load_images(sources: Iterable[ImageSource]) -> list[Image.Image]:
    """Load several images; a folder path expands to the images inside it."""
    images: list[Image.Image] = []
    for source in sources:
        if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
            images.extend(load_image(p) for p in list_image_files(source))
        else:
            images.append(load_image(source))
    if not images:
        raise InputError(f"no images were given; expected {ACCEPTED}")
    return images
