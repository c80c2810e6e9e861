"""Official checkpoint files: BriVL-1.0's .pth and taming-transformers' VQGAN .ckpt, read without running code."""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wavbrivl.configs import BRIVL_BERT, BriVLImageConfig, BriVLTextConfig, VQGANConfig
from wavbrivl.errors import WeightsError
from wavbrivl.loading.folders import load_tokenizer
from wavbrivl.models import VQGAN, BriVLImageTower, BriVLTextTower

# --- Reading: weights_only=True always; classes and functions a pickle names become inert stubs -------------

ACCEPTED = (
    "Accepted: a torch.save file of tensors and plain containers; any other class or function it names is "
    "replaced by an inert stub (never imported, never run)"
)
_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+) was not an allowed global")
_MAX_STUB_ROUNDS = 500  # names found one error at a time when torch cannot list them up front


class PickledStub(list):
    """Inert stand-in for a class or function named in a checkpoint: keeps what it is given, runs nothing.

    A list so that pickled list subclasses can be filled (the weights-only unpickler appends to allowed list
    types only); equality and hashing are by identity so stubs can be dict keys.
    """

    stub_of = ""  # the module.QualName it stands for (set on the per-name subclass)

    def __new__(cls, *args: Any, **kwargs: Any) -> PickledStub:
        """Accept any constructor arguments (NEWOBJ passes them here) and keep them."""
        obj = super().__new__(cls)
        obj.stub_args = args
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Accept any arguments (REDUCE calls the stub like the original callable); they are kept by __new__."""

    def __setstate__(self, state: Any) -> None:
        """Keep pickled state: a str-keyed dict (or pickle's (dict, slots) pair) as attributes, else as is."""
        if isinstance(state, tuple) and len(state) == 2 and all(s is None or isinstance(s, dict) for s in state):
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict) and all(isinstance(k, str) for k in state):
            self.__dict__.update(state)
        else:
            self.stub_state = state

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __repr__(self) -> str:
        return f"<stub of {self.stub_of}>"


def _stub_for(name: str) -> tuple[type[PickledStub], str]:
    """A fresh stub class allow-listed under the pickled name `module.QualName` (torch's (obj, name) form)."""
    label = f"PickledStub[{name}]"
    stub = type(label, (PickledStub,), {"stub_of": name, "__module__": __name__, "__qualname__": label})
    return stub, name


def _unsupported_global(err: BaseException) -> str | None:
    """The global a weights-only refusal names, with the `builtins.` prefix torch drops in its message."""
    found = _UNSUPPORTED_GLOBAL.search(str(err))
    if found is None:
        return None
    return found[1] if "." in found[1] else f"builtins.{found[1]}"


def _torch_load(path: Path) -> Any:
    """torch.load(weights_only=True), memory-mapped when the format allows it (legacy files are read whole)."""
    try:  # memory-mapped: a 2 GB BriVL file read for its image and then its text part costs no extra RAM
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as err:
        if "mmap" not in str(err) and "zipfile" not in str(err):
            raise
        return torch.load(path, map_location="cpu", weights_only=True)  # legacy (pre-zipfile) format


def _listed_globals(path: Path) -> set[str]:
    """The not-allowed globals torch can list statically (zip format only); else none, found from errors."""
    scan = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    try:
        return set(scan(str(path))) if scan is not None else set()
    except Exception:  # noqa: BLE001 - legacy format or an opcode the scanner skips: fall back to the errors
        return set()


def _load_with_stubs(path: Path) -> tuple[Any, tuple[str, ...]]:
    """Load weights-only with every global the file names (and torch does not allow) mapped to a stub."""
    names = _listed_globals(path)
    for _ in range(_MAX_STUB_ROUNDS):
        try:
            with torch.serialization.safe_globals([_stub_for(name) for name in sorted(names)]):
                return _torch_load(path), tuple(sorted(names))
        except pickle.UnpicklingError as err:
            name = _unsupported_global(err)
            if name is None or name in names:
                raise
            names.add(name)
    raise WeightsError(f"{path}: names over {_MAX_STUB_ROUNDS} classes or functions; not read. {ACCEPTED}.")


def _reason(path: Path, err: BaseException) -> str:
    """Why a file was refused: not a torch.save file at all, or torch's reason without its weights_only=False advice."""
    with path.open("rb") as file:
        head = file.read(1)
    if head != b"\x80" and not zipfile.is_zipfile(path):  # torch.save writes a zip archive or a legacy pickle
        return "not a torch.save file: neither its zip format nor a legacy pickle"
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    if "WeightsUnpickler error:" in text:
        text = text.rsplit("WeightsUnpickler error:", 1)[1]
    elif text.startswith("Weights only load failed."):
        text = text.split("\n\n", 1)[-1]
    text = text.split("Check the documentation of torch.load")[0]
    return f"{type(err).__name__}: {' '.join(text.split())[:400]}"


def _read(path: str | Path) -> tuple[Any, tuple[str, ...]]:
    """The checkpoint object and the pickled names that were stubbed in it (none for a plain tensor file)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint file")
    try:
        try:
            return _torch_load(path), ()
        except pickle.UnpicklingError as err:
            if _unsupported_global(err) is None:
                raise
            return _load_with_stubs(path)
    except WeightsError:
        raise
    except Exception as err:  # noqa: BLE001 - any failure here means the file is unusable as is
        raise WeightsError(
            f"{path}: cannot be read as a weights-only torch checkpoint ({_reason(path, err)}). {ACCEPTED}."
        ) from None


def read_torch_checkpoint(path: str | Path) -> Any:
    """torch.load with weights_only=True; classes and functions the file names become inert PickledStubs."""
    return _read(path)[0]


def _source(path: str | Path, stubbed: tuple[str, ...]) -> str:
    """How errors name a file: its path, plus the pickled names that were stubbed while reading it weights-only."""
    if not stubbed:
        return str(path)
    shown = ", ".join(stubbed[:3]) + (", ..." if len(stubbed) > 3 else "")
    names = "name" if len(stubbed) == 1 else "names"
    return f"{path} (read weights-only; {len(stubbed)} pickled {names} replaced by inert stubs: {shown})"


def strict_load(module: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict=True) with a readable account of any mismatch."""
    not_tensors = sorted(k for k, v in state.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        example = f"{not_tensors[0]}: {state[not_tensors[0]]!r}"[:200]
        raise WeightsError(f"{source}: {len(not_tensors)} weight entries are not tensors (e.g. {example})")
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                parts.append(f"{len(keys)} {label} (e.g. {', '.join(keys[:3])})")
        raise WeightsError(f"{source}: keys do not match {type(module).__name__}: " + "; ".join(parts))
    module.load_state_dict(state, strict=True)


def _strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _brivl_part(checkpoint: Any, prefix: str, source: str) -> dict[str, torch.Tensor]:
    """One tower's entries of an official BriVL checkpoint ('learnable' dict), without its prefix."""
    state = checkpoint.get("learnable", checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise WeightsError(f"{source}: expected a dict with a 'learnable' state dict (official BriVL layout)")
    if state and all(k.startswith("module.") for k in state):
        state = _strip_prefix(state, "module.")
    part = _strip_prefix(state, prefix)
    if not part:
        raise WeightsError(f"{source}: no '{prefix}*' keys; this is not a BriVL-1.0 checkpoint")
    return part


def brivl_image_state(checkpoint: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The image-encoder entries of an official BriVL checkpoint, without the 'imgencoder.' prefix."""
    return _brivl_part(checkpoint, "imgencoder.", source)


# transformers >= 4.31 keeps these as non-persistent buffers; BriVL-1.0 (4.5.1) saved them. They hold 0..511.
BERT_DROPPED_BUFFERS = ("backbone.bert.embeddings.position_ids", "backbone.bert.embeddings.token_type_ids")


def brivl_text_state(checkpoint: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The text-encoder entries of an official BriVL checkpoint, less BERT's position_ids buffer."""
    text = _brivl_part(checkpoint, "textencoder.", source)
    return {k: v for k, v in text.items() if k not in BERT_DROPPED_BUFFERS}


# --- Architecture of an official BriVL file, read from its tensor shapes ------------------------------------

# Image backbones this loader recognises, by (conv_stem weight shape, blocks per stage): (timm name, image size).
BRIVL_BACKBONES: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[str, int]] = {
    ((48, 3, 3, 3), (3, 5, 5, 7, 7, 9, 3)): ("tf_efficientnet_b5", 380),  # BriVL-1.0 (official)
    ((24, 3, 3, 3), (1, 1, 1, 1, 1)): ("test_efficientnet", 96),  # timm's tiny test model (tests, toy files)
}
_BLOCK = re.compile(r"backbone\.blocks\.(\d+)\.(\d+)\.")


def _shape(state: Mapping[str, torch.Tensor], key: str, source: str) -> tuple[int, ...]:
    """The shape of one entry, or a WeightsError naming the entry the architecture is read from."""
    if key not in state or not isinstance(state[key], torch.Tensor):
        raise WeightsError(f"{source}: no tensor '{key}'; cannot read the BriVL architecture from this file")
    return tuple(state[key].shape)


def _count_layers(state: Mapping[str, torch.Tensor], prefix: str, source: str) -> int:
    """How many numbered layers `prefix.N.` the state holds (numbered 0..N-1 without gaps)."""
    numbers = {int(m[1]) for k in state if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))}
    if not numbers or numbers != set(range(len(numbers))):
        raise WeightsError(f"{source}: layers '{prefix}N.*' missing or not numbered 0..N-1 (found {sorted(numbers)})")
    return len(numbers)


def _sa_heads(dim: int) -> int:
    """Self-attention heads (not readable from shapes): BriVL's 4 when it divides dim, else the largest of 3, 2, 1."""
    return next(heads for heads in (4, 3, 2, 1) if dim % heads == 0)


def _backbone(state: Mapping[str, torch.Tensor], source: str) -> tuple[str, int]:
    """The timm backbone name and image size, from the stem's shape and the blocks per stage."""
    stem = _shape(state, "backbone.conv_stem.weight", source)
    blocks = {(int(m[1]), int(m[2])) for k in state if (m := _BLOCK.match(k))}
    depths = tuple(
        sum(1 for s, _ in blocks if s == stage) for stage in range(1 + max((s for s, _ in blocks), default=-1))
    )
    if (stem, depths) not in BRIVL_BACKBONES:
        known = "; ".join(
            f"{name} at {size} px (conv_stem {list(key[0])}, blocks per stage {list(key[1])})"
            for key, (name, size) in BRIVL_BACKBONES.items()
        )
        raise WeightsError(
            f"{source}: unrecognised image backbone (conv_stem {list(stem)}, blocks per stage {list(depths)}). "
            f"Recognised: {known}. Pass a BriVLImageConfig for another backbone."
        )
    return BRIVL_BACKBONES[(stem, depths)]


def brivl_image_config(state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> BriVLImageConfig:
    """The image tower's architecture read from its (prefix-less) official state dict's shapes."""
    backbone, image_size = _backbone(state, source)
    att = "learnable.imgAtt.layers."
    hidden = _shape(state, att + "0.self_attn.in_proj_weight", source)[1]
    return BriVLImageConfig(
        backbone=backbone,
        backbone_channels=_shape(state, "learnable.max_pool.0.weight", source)[1],
        image_size=image_size,
        hidden_dim=hidden,
        num_layers=_count_layers(state, att, source),
        num_heads=_sa_heads(hidden),
        ffn_dim=_shape(state, att + "0.linear1.weight", source)[0],
        embed_dim=_shape(state, "learnable.imgFC.fc2.weight", source)[0],
    )


def brivl_text_config(state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> BriVLTextConfig:
    """The text tower's architecture (BERT sizes included) read from its (prefix-less) official state dict's shapes."""
    bert = "backbone.bert."
    vocab, hidden = _shape(state, bert + "embeddings.word_embeddings.weight", source)
    bert_heads = hidden // 64  # BERT's 64-wide heads (official: 768 -> 12), else one head
    sizes = {
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": _count_layers(state, bert + "encoder.layer.", source),
        "num_attention_heads": bert_heads if bert_heads >= 1 and hidden % bert_heads == 0 else 1,
        "intermediate_size": _shape(state, bert + "encoder.layer.0.intermediate.dense.weight", source)[0],
        "max_position_embeddings": _shape(state, bert + "embeddings.position_embeddings.weight", source)[0],
        "type_vocab_size": _shape(state, bert + "embeddings.token_type_embeddings.weight", source)[0],
    }
    att = "learnable.textAtt.layers."
    return BriVLTextConfig(
        bert={**BRIVL_BERT, **sizes},
        num_layers=_count_layers(state, att, source),
        num_heads=_sa_heads(hidden),
        ffn_dim=_shape(state, att + "0.linear1.weight", source)[0],
        embed_dim=_shape(state, "learnable.textFC.fc2.weight", source)[0],
    )


def load_brivl_official(path: str | Path, config: BriVLImageConfig | None = None) -> BriVLImageTower:
    """Build the BriVL image tower (architecture read from the file unless given) and load its image part strictly."""
    checkpoint, stubbed = _read(path)
    source = _source(path, stubbed)
    state = brivl_image_state(checkpoint, source)
    tower = BriVLImageTower(config or brivl_image_config(state, source))
    strict_load(tower, state, source)
    return tower.eval()


def load_brivl_official_text(
    path: str | Path, tokenizer: str | Path | None = None, config: BriVLTextConfig | None = None
) -> BriVLTextTower:
    """Build the BriVL text tower (architecture read from the file unless given), load it strictly, add a tokenizer."""
    checkpoint, stubbed = _read(path)
    source = _source(path, stubbed)
    state = brivl_text_state(checkpoint, source)
    tower = BriVLTextTower(config or brivl_text_config(state, source))
    strict_load(tower, state, source)
    if tokenizer is not None:
        tower.tokenizer = load_tokenizer(tokenizer)
    return tower.eval()


# --- taming-transformers VQGAN ---------------------------------------------------------------------------


def taming_state(checkpoint: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """A taming .ckpt's model weights: its 'state_dict' less the training-only 'loss.*' entries."""
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise WeightsError(f"{source}: expected a Lightning checkpoint with a 'state_dict'")
    return {k: v for k, v in state.items() if not k.startswith("loss.")}


def vqgan_config_from_yaml(path: str | Path) -> VQGANConfig:
    """Read embed_dim, n_embed and ddconfig from an official taming model .yaml (its lossconfig is ignored)."""
    from omegaconf import OmegaConf

    try:
        conf = OmegaConf.to_container(OmegaConf.load(str(path)), resolve=True)
        params = conf["model"]["params"] if "model" in conf else conf
        return VQGANConfig(int(params["embed_dim"]), int(params["n_embed"]), dict(params["ddconfig"]))
    except Exception as err:  # noqa: BLE001
        raise WeightsError(
            f"{path}: not a taming VQGAN config (model.params.embed_dim/n_embed/ddconfig): {err}"
        ) from None


def load_taming_vqgan(path: str | Path, config: VQGANConfig | str | Path | None = None) -> VQGAN:
    """Build a VQGAN (default: vqgan_imagenet_f16_16384; or a config / taming .yaml) and load a .ckpt strictly."""
    if isinstance(config, (str, Path)):
        config = vqgan_config_from_yaml(config)
    checkpoint, stubbed = _read(path)
    source = _source(path, stubbed)
    model = VQGAN(config or VQGANConfig())
    strict_load(model, taming_state(checkpoint, source), source)
    return model.eval()
