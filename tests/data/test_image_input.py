"""Image input: any mode becomes RGB; corrupt or empty files give clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from wavbrivl import InputError, load_image, load_images


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16", "1", "LA"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    image = Image.new("RGB", (20, 10), (200, 30, 60)).convert(mode)
    path = tmp_path / ("x.tiff" if mode in ("CMYK", "I;16") else "x.png")
    image.save(path)
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (20, 10)


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert load_image(image).getpixel((0, 0)) == (255, 255, 255)


def test_arrays_float_and_uint8():
    assert load_image(np.ones((5, 6, 3), dtype=np.float32)).getpixel((0, 0)) == (255, 255, 255)
    assert load_image(np.zeros((5, 6), dtype=np.uint8)).size == (6, 5)
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros((5, 6, 7), dtype=np.uint8))


def test_corrupt_and_empty_files(tmp_path):
    corrupt = tmp_path / "broken.jpg"
    good = tmp_path / "good.jpg"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good)
    corrupt.write_bytes(good.read_bytes()[:40])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="broken.jpg: not a readable image"):
        load_image(corrupt)
    with pytest.raises(InputError, match="empty.png: the file is empty"):
        load_image(empty)
    with pytest.raises(InputError, match="no such image"):
        load_image(tmp_path / "nothere.png")


def test_folders_expand_and_empty_folders_refused(tmp_path, image_files):
    assert len(load_images([image_files[0].parent])) == 5
    (tmp_path / "none").mkdir()
    with pytest.raises(InputError, match="holds no images"):
        load_images([tmp_path / "none"])
