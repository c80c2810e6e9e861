"""The generation methods, declared once: their names, labels, what they need and which settings they use.

The CLI's `--method` choices, the app's choices and labels, the request checks and the app's model thread all read
this table; `methods.available_methods` builds the runnable methods from it.
"""

from __future__ import annotations

from dataclasses import dataclass

# The settings of GenerationConfig that belong to one method or another (the seed is every method's).
VQGAN_SETTINGS = frozenset({"steps", "size", "lr", "cutn", "cut_batch", "cut_pow", "noise", "augment", "tv_weight",
                            "init", "starts", "start_steps", "start_similarity", "start_steps_max",
                            "fill"})  # fmt: skip
SAMPLING_SETTINGS = frozenset({"sample_steps", "guidance_scale"})


@dataclass(frozen=True)
class MethodSpec:
    """One generation method: name, label, whether it is one pass, the settings it uses, and what it needs."""

    name: str
    label: str
    one_pass: bool  # an init picture is one more target, not a starting point
    settings: frozenset[str]
    missing: str  # why a set without its parts cannot offer it
    one_thread: bool = False  # the app runs one picture of it on one torch thread (small-latent samplers)


REGISTRY: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "decoder",
            "Decoder (one sampling pass)",
            True,
            SAMPLING_SETTINGS,
            "this model set has no decoder, so method 'decoder' is not available; use method 'vqgan' (the paper's "
            "optimisation) or train one with `wavbrivl train-decoder`",
            one_thread=True,
        ),
        MethodSpec(
            "vqgan",
            "VQGAN optimisation (the paper's method)",
            False,
            VQGAN_SETTINGS,
            "this pipeline was loaded without a VQGAN; method 'vqgan' needs one (--vqgan-weights)",
        ),
        MethodSpec(
            "unclip",
            "Stable unCLIP (one diffusion pass)",
            True,
            SAMPLING_SETTINGS | {"size", "noise_level"},
            "this model set has no Stable unCLIP pipeline, so method 'unclip' is not available; use the 'unclip' "
            "preset or pass --unclip-weights",
        ),
    )
}
METHODS = tuple(REGISTRY)
METHOD_SETTINGS = frozenset().union(*(spec.settings for spec in REGISTRY.values()))


def unused_settings(method: str, given: set[str] | frozenset[str]) -> list[str]:
    """The given settings that the method does not use (they belong to another method), in a stable order."""
    return sorted((set(given) & METHOD_SETTINGS) - REGISTRY[method].settings)
