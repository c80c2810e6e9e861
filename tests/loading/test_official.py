"""Official checkpoint files: Lightning .ckpt read weights-only with inert stubs, BriVL architecture from shapes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from wavbrivl.configs import BRIVL_BERT, BriVLImageConfig, BriVLTextConfig, small_vqgan_config
from wavbrivl.errors import WeightsError
from wavbrivl.loading import official
from wavbrivl.loading.official import (
    PickledStub,
    brivl_image_config,
    brivl_image_state,
    brivl_text_config,
    brivl_text_state,
    load_brivl_official,
    load_brivl_official_text,
    load_taming_vqgan,
    read_torch_checkpoint,
)
from wavbrivl.models import VQGAN, BriVLImageTower, BriVLTextTower

DATA = Path(__file__).resolve().parents[1] / "data"
# the project's shared reference beside the checkout (all 2320 keys of the official learnable dict), when present
ALL_KEYS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "brivl-1.0-learnable-keys.json"

TAMING_YAML = """model:
  base_learning_rate: 4.5e-06
  target: taming.models.vqgan.VQModel
  params:
    embed_dim: 16
    n_embed: 64
    ddconfig:
      double_z: false
      z_channels: 16
      resolution: 64
      in_channels: 3
      out_ch: 3
      ch: 32
      ch_mult: [1, 2]
      num_res_blocks: 1
      attn_resolutions: []
      dropout: 0.0
    lossconfig:
      target: taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator
      params:
        disc_conditional: false
        disc_in_channels: 3
        disc_start: 250001
        disc_weight: 0.8
        codebook_weight: 1.0
"""

# Classes the training process had and the loading process must never import (written to tmp_path).
STAND_IN_MODULE = '''
import os
import subprocess


class ModelCheckpointStandIn:
    """Like a Lightning callback: attributes, a nested dict, a tensor."""

    def __init__(self, monitor):
        self.monitor = monitor
        self.best_k_models = {"epoch=3.ckpt": 0.25}
        self.best_model_score = None


class EvenlySpaced(list):
    """A list subclass (pickled with APPENDS onto the instance) with attribute state."""


class Touch:
    """Would create a file when unpickled (os.system is in a module torch always blocks)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, ("touch " + self.path,))


class TouchQuietly(Touch):
    """The same through a callable torch does not block outright."""

    def __reduce__(self):
        return (subprocess.check_call, (["touch", self.path],))
'''


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """A module only importable while the fixture's saving runs; unimported again before any loading."""
    name = f"lightning_stand_in_{tmp_path.name.replace('-', '_')}"
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / f"{name}.py").write_text(STAND_IN_MODULE)
    monkeypatch.syspath_prepend(str(folder))
    module = __import__(name)
    yield module
    sys.modules.pop(name, None)


def _forget(module) -> None:
    """Make `module` unimportable: off sys.path and out of sys.modules."""
    folder = str(Path(module.__file__).parent)
    while folder in sys.path:
        sys.path.remove(folder)
    sys.modules.pop(module.__name__, None)


@pytest.fixture
def load_calls(monkeypatch):
    """Every torch.load call's weights_only argument."""
    calls: list[object] = []
    real = torch.load

    def recording(*args, **kwargs):
        calls.append(kwargs.get("weights_only", "unset"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording)
    return calls


def tiny_vqgan(seed: int = 0) -> VQGAN:
    torch.manual_seed(seed)
    return VQGAN(small_vqgan_config(embed_dim=16, n_embed=64, z_channels=16)).eval()


def lightning_checkpoint(model: VQGAN, stand_in) -> dict:
    """What a PyTorch Lightning .ckpt of a taming VQGAN holds, with a custom callback object and a DictConfig."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["loss.discriminator.main.0.weight"] = torch.randn(4, 3, 4, 4)
    state["loss.logvar"] = torch.zeros(())
    small = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(small.parameters(), lr=4.5e-6, betas=(0.5, 0.9))
    small(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
    callback = stand_in.ModelCheckpointStandIn("val/rec_loss")
    spaced = stand_in.EvenlySpaced([1, 2, 3])
    spaced.step = 2
    return {
        "epoch": 3,
        "global_step": 1234,
        "pytorch-lightning_version": "1.0.8",
        "state_dict": state,
        "optimizer_states": [optimizer.state_dict(), optimizer.state_dict()],
        "lr_schedulers": [{"scheduler": scheduler.state_dict(), "interval": "step"}],
        "callbacks": {stand_in.ModelCheckpointStandIn: {"best_model_path": "last.ckpt", "instance": callback}},
        "extras": {"spaced": spaced},
        "hyper_parameters": OmegaConf.create(
            {"embed_dim": 16, "n_embed": 64, "lossconfig": {"target": "x.Y", "params": {"disc_start": 1}}}
        ),
    }


def test_a_lightning_ckpt_loads_strictly_without_importing_its_classes(tmp_path, stand_in, load_calls):
    vqgan = tiny_vqgan()
    path = tmp_path / "model.ckpt"
    torch.save(lightning_checkpoint(vqgan, stand_in), path)
    name = stand_in.__name__
    _forget(stand_in)
    loaded = load_taming_vqgan(path, small_vqgan_config(embed_dim=16, n_embed=64, z_channels=16))
    assert name not in sys.modules
    assert load_calls and all(flag is True for flag in load_calls)
    for key, value in vqgan.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), vqgan(x))

    raw = read_torch_checkpoint(path)  # everything else is there, as inert data
    assert name not in sys.modules
    assert raw["global_step"] == 1234 and raw["optimizer_states"][0]["param_groups"][0]["lr"] == 4.5e-6
    ((key, entry),) = raw["callbacks"].items()
    assert issubclass(key, PickledStub) and key.stub_of == f"{name}.ModelCheckpointStandIn"
    assert entry["instance"].monitor == "val/rec_loss" and entry["instance"].best_k_models == {"epoch=3.ckpt": 0.25}
    spaced = raw["extras"]["spaced"]
    assert isinstance(spaced, PickledStub) and list(spaced) == [1, 2, 3] and spaced.step == 2
    assert raw["hyper_parameters"].stub_of == "omegaconf.dictconfig.DictConfig"


def test_pickled_calls_never_run(tmp_path, stand_in, load_calls):
    blocked, quiet = tmp_path / "blocked", tmp_path / "quiet"
    state = {k: v.clone() for k, v in tiny_vqgan().state_dict().items()}
    torch.save({"state_dict": state, "x": stand_in.Touch(str(blocked))}, tmp_path / "blocked.ckpt")
    torch.save({"state_dict": state, "x": stand_in.TouchQuietly(str(quiet))}, tmp_path / "quiet.ckpt")
    _forget(stand_in)
    config = small_vqgan_config(embed_dim=16, n_embed=64, z_channels=16)
    with pytest.raises(WeightsError, match=r"blocked\.ckpt.*posix\.system.*blocked"):
        load_taming_vqgan(tmp_path / "blocked.ckpt", config)
    load_taming_vqgan(tmp_path / "quiet.ckpt", config)  # the callable became a stub; the weights load
    raw = read_torch_checkpoint(tmp_path / "quiet.ckpt")
    assert isinstance(raw["x"], PickledStub) and "check_call" in raw["x"].stub_of
    assert raw["x"].stub_args == (["touch", str(quiet)],)
    assert not blocked.exists() and not quiet.exists()
    assert all(flag is True for flag in load_calls)


def test_weights_that_are_not_tensors_are_named(tmp_path, stand_in):
    state = {k: v.clone() for k, v in tiny_vqgan().state_dict().items()}
    state["quantize.embedding.weight"] = stand_in.ModelCheckpointStandIn("x")
    torch.save({"state_dict": state}, tmp_path / "odd.ckpt")
    _forget(stand_in)
    config = small_vqgan_config(embed_dim=16, n_embed=64, z_channels=16)
    with pytest.raises(WeightsError, match=r"odd\.ckpt.*inert stubs.*not tensors.*quantize\.embedding\.weight"):
        load_taming_vqgan(tmp_path / "odd.ckpt", config)


def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path):
    path = tmp_path / "notes.ckpt"
    path.write_text("model: vqgan\n")
    with pytest.raises(WeightsError, match=r"notes\.ckpt.*not a torch\.save file.*Accepted"):
        read_torch_checkpoint(path)
    with pytest.raises(WeightsError, match=r"missing\.ckpt: no such checkpoint file"):
        load_taming_vqgan(tmp_path / "missing.ckpt")
    legacy = tmp_path / "legacy.pth"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    assert torch.equal(read_torch_checkpoint(legacy)["w"], torch.ones(2))


def test_a_taming_yaml_with_lossconfig_gives_the_config(tmp_path):
    vqgan = tiny_vqgan(seed=1)
    (tmp_path / "model.yaml").write_text(TAMING_YAML)
    torch.save({"state_dict": dict(vqgan.state_dict()), "global_step": 5}, tmp_path / "last.ckpt")
    loaded = load_taming_vqgan(tmp_path / "last.ckpt", tmp_path / "model.yaml")
    assert loaded.config == small_vqgan_config(embed_dim=16, n_embed=64, z_channels=16)
    assert torch.equal(loaded.codebook, vqgan.codebook)
    (tmp_path / "bad.yaml").write_text("model:\n  params:\n    embed_dim: 16\n")
    with pytest.raises(WeightsError, match=r"bad\.yaml: not a taming VQGAN config"):
        load_taming_vqgan(tmp_path / "last.ckpt", tmp_path / "bad.yaml")


def _meta_state(keys: dict[str, list[int]]) -> dict:
    """Shapes without storage: a full-size layout costs nothing."""
    return {"learnable": {key: torch.zeros(shape, device="meta") for key, shape in keys.items()}}


def test_the_official_layout_infers_the_default_configs():
    image = _meta_state(json.loads((DATA / "brivl-1.0-image-keys.json").read_text()))
    text = _meta_state(json.loads((DATA / "brivl-1.0-text-keys.json").read_text()))
    assert brivl_image_config(brivl_image_state(image)) == BriVLImageConfig()
    assert brivl_text_config(brivl_text_state(text)) == BriVLTextConfig()


@pytest.mark.skipif(not ALL_KEYS.is_file(), reason="shared reference key list not present")
def test_the_whole_official_learnable_dict_infers_the_default_configs():
    checkpoint = _meta_state(json.loads(ALL_KEYS.read_text()))
    assert len(checkpoint["learnable"]) == 2320
    assert brivl_image_config(brivl_image_state(checkpoint)) == BriVLImageConfig()
    assert brivl_text_config(brivl_text_state(checkpoint)) == BriVLTextConfig()


def test_an_unknown_backbone_or_a_missing_entry_is_named():
    keys = json.loads((DATA / "brivl-1.0-image-keys.json").read_text())
    state = brivl_image_state(_meta_state({k: v for k, v in keys.items() if ".blocks.6." not in k}))
    with pytest.raises(WeightsError, match=r"unrecognised image backbone.*\[3, 5, 5, 7, 7, 9\].*tf_efficientnet_b5"):
        brivl_image_config(state, "x.pth")
    state = brivl_image_state(_meta_state({k: v for k, v in keys.items() if "imgFC.fc2" not in k}))
    with pytest.raises(WeightsError, match=r"x\.pth: no tensor 'learnable\.imgFC\.fc2\.weight'"):
        brivl_image_config(state, "x.pth")


def test_attention_heads_rules():
    assert [official._sa_heads(d) for d in (2048, 768, 32, 30, 7)] == [4, 4, 4, 3, 1]
    text = _meta_state(json.loads((DATA / "brivl-1.0-text-keys.json").read_text()))["learnable"]
    for hidden, heads in ((384, 6), (32, 1), (200, 1)):
        small = {k: torch.zeros([hidden if s == 768 else s for s in v.shape], device="meta") for k, v in text.items()}
        assert brivl_text_config(brivl_text_state({"learnable": small})).bert["num_attention_heads"] == heads


def test_a_tiny_official_file_loads_without_a_config(tmp_path):
    torch.manual_seed(0)
    image_config = BriVLImageConfig(
        backbone="test_efficientnet", image_size=96, hidden_dim=32, num_layers=2, num_heads=4, ffn_dim=24, embed_dim=48
    )
    image = BriVLImageTower(image_config).eval()
    bert = {**BRIVL_BERT, "vocab_size": 50, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 1}
    bert.update(intermediate_size=64, max_position_embeddings=40)
    text = BriVLTextTower(BriVLTextConfig(bert=bert, num_layers=3, num_heads=4, ffn_dim=40, embed_dim=24)).eval()
    learnable = {"imgencoder." + k: v for k, v in image.state_dict().items()}
    learnable |= {"textencoder." + k: v for k, v in text.state_dict().items()}
    learnable["textencoder.backbone.bert.embeddings.position_ids"] = torch.arange(40)[None]  # as transformers 4.5
    path = tmp_path / "tiny-brivl.pth"
    torch.save({"learnable": learnable}, path)

    loaded_image, loaded_text = load_brivl_official(path), load_brivl_official_text(path)
    assert loaded_image.config == image.config and loaded_text.config == text.config
    pixels, ids = torch.randn(2, 3, 96, 96), torch.randint(1, 50, (2, 20))
    lengths = torch.tensor([20, 7])
    with torch.no_grad():
        torch.testing.assert_close(loaded_image(pixels), image(pixels))
        torch.testing.assert_close(loaded_text(ids, lengths), text(ids, lengths))
