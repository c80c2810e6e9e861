"""BriVL image tower: official key layout (strict), boxes, RoI sampling, masking, gradients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from wavbrivl.configs import BriVLImageConfig
from wavbrivl.errors import WeightsError
from wavbrivl.loading.official import brivl_image_state, load_brivl_official, strict_load
from wavbrivl.models import BriVLImageTower
from wavbrivl.models.brivl_image import grid_boxes, roi_affine

# A copy of ../shared/reference/brivl-1.0-image-keys.json: the official checkpoint's image keys and shapes.
KEYS_FILE = Path(__file__).resolve().parents[1] / "data" / "brivl-1.0-image-keys.json"
DTYPE_INT = ("num_batches_tracked",)


def tiny_config(**kw) -> BriVLImageConfig:
    base = dict(
        backbone="test_efficientnet", image_size=96, hidden_dim=32, num_layers=2, num_heads=2, ffn_dim=32, embed_dim=48
    )
    base.update(kw)
    return BriVLImageConfig(**base)


def official_layout() -> dict[str, list[int]]:
    return json.loads(KEYS_FILE.read_text())


def random_official_checkpoint(seed: int = 0) -> dict:
    """A state dict with random tensors under exactly the official keys and shapes, nested as stored."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in official_layout().items():
        if key.endswith(DTYPE_INT):
            state[key] = torch.tensor(7, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.02
    return {"learnable": state}


@pytest.mark.slow
def test_official_checkpoint_loads_strictly_through_a_file(tmp_path):
    checkpoint = random_official_checkpoint()
    path = tmp_path / "BriVL-1.0-5500w.pth"
    torch.save(checkpoint, path)
    tower = load_brivl_official(path)
    own = tower.state_dict()
    assert len(own) == 908
    for key, value in checkpoint["learnable"].items():
        assert torch.equal(own[key.removeprefix("imgencoder.")], value), key
    assert sum(p.numel() for p in tower.parameters()) == 143_724_056
    with torch.no_grad():
        out = tower.encode_pixels(torch.rand(1, 3, 200, 300))
    assert out.shape == (1, 2048) and torch.isfinite(out).all()


def test_a_missing_or_extra_key_is_named():
    tower = BriVLImageTower(BriVLImageConfig())
    state = brivl_image_state(random_official_checkpoint())
    state.pop("learnable.imgFC.fc2.bias")
    state["learnable.extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match=r"1 missing \(e.g. learnable.imgFC.fc2.bias\); 1 unexpected"):
        strict_load(tower, state, "test.pth")


def test_non_brivl_checkpoint_refused():
    with pytest.raises(WeightsError, match="not a BriVL-1.0 checkpoint"):
        brivl_image_state({"learnable": {"textencoder.x": torch.zeros(1)}})


def test_grid_boxes_are_column_major_then_whole_image():
    boxes = grid_boxes(380, 6)
    s = 380 / 6
    assert boxes.shape == (37, 4)
    torch.testing.assert_close(boxes[6 * 0 + 1], torch.tensor([0.0, s, s, 2 * s]))  # i along x, j along y
    torch.testing.assert_close(boxes[6 * 2 + 0], torch.tensor([2 * s, 0.0, 3 * s, s]))
    torch.testing.assert_close(boxes[36], torch.tensor([0.0, 0.0, 380.0, 380.0]))


def _sample_positions(box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    theta = roi_affine(box[None], 380, 12, 12)
    grid = F.affine_grid(theta, [1, 1, 4, 4], align_corners=False)[0]
    to_index = lambda g: ((g + 1) * 12 - 1) / 2  # noqa: E731 - grid_sample's align_corners=False mapping
    return to_index(grid[0, :, 0]), to_index(grid[:, 0, 1])


def test_roi_sampling_positions_match_the_worked_values():
    boxes = grid_boxes(380, 6)
    x, y = _sample_positions(boxes[36])
    expected = torch.tensor([1.1364, 4.4091, 7.6818, 10.9545])
    torch.testing.assert_close(x, expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(y, expected, atol=1e-4, rtol=0)
    x, y = _sample_positions(boxes[0])
    torch.testing.assert_close(x, torch.tensor([-0.2273, 0.3182, 0.8636, 1.4091]), atol=1e-4, rtol=0)
    _, y = _sample_positions(boxes[1])
    torch.testing.assert_close(y, torch.tensor([1.9545, 2.5, 3.0455, 3.5909]), atol=1e-4, rtol=0)


def test_box_order_does_not_matter_and_padding_boxes_are_ignored():
    torch.manual_seed(0)
    tower = BriVLImageTower(tiny_config()).eval()
    pixels = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        base = tower(pixels)
        perm = torch.randperm(37)
        permuted = tower(pixels, boxes=tower.default_boxes[perm][None].expand(2, -1, -1))
        boxes = torch.cat([tower.default_boxes, torch.zeros(3, 4)])[None].expand(2, -1, -1)
        mask = torch.cat([torch.ones(37), torch.zeros(3)]).bool()[None].expand(2, -1)
        padded = tower(pixels, boxes=boxes, mask=mask)
    torch.testing.assert_close(permuted, base, atol=1e-5, rtol=0)
    torch.testing.assert_close(padded, base, atol=1e-5, rtol=0)


def test_differentiable_to_pixels_and_preprocess_matches_official_resize():
    from PIL import Image

    tower = BriVLImageTower(tiny_config()).eval()
    pixels = torch.rand(1, 3, 64, 80, requires_grad=True)
    tower.encode_pixels(pixels).sum().backward()
    assert pixels.grad is not None and pixels.grad.abs().sum() > 0
    image = Image.new("RGB", (150, 70), (10, 200, 30))
    batch = tower.preprocess([image])
    assert batch.shape == (1, 3, 96, 96)
    torch.testing.assert_close(batch[0, :, 0, 0], torch.tensor([10, 200, 30]) / 255.0)
