"""The request checks at every setting's limits and just past them, with their sentences word for word (issue 31:
mutation testing of wavbrivl/generation/checks.py; the same sentences through the CLI and the app: test_checks.py)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from wavbrivl.errors import InputError, WeightsError
from wavbrivl.generation.checks import MAX_GUIDANCE, MAX_WEIGHT, SETTINGS, Setting, check_generation, shown
from wavbrivl.generation.config import GenerationConfig
from wavbrivl.generation.registry import REGISTRY

ALL = ("decoder", "vqgan", "unclip")

# setting: (lowest accepted, the value just below it, highest accepted, the value just above it)
LIMITS = {
    "steps": (1, 0, 1000, 1001),
    "size": (8, 7, 1024, 1025),
    "cutn": (1, 0, 64, 65),
    "cut_batch": (1, 0, 64, 65),
    "lr": (1e-9, 0.0, 10.0, 10.001),
    "sample_steps": (1, 0, 1000, 1001),
    "guidance_scale": (0.0, -0.001, 50.0, 50.001),
    "noise_level": (0, -1, 999, 1000),
    "tv_weight": (0.0, -0.001, 100.0, 100.001),
    "start_similarity": (-1.0, -1.001, 1.0, 1.001),
    "start_steps_max": (0, -1, 1000, 1001),
}


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as refused:
        call(*args, **kwargs)
    return str(refused.value)


@pytest.mark.parametrize("key", list(LIMITS))
def test_each_setting_at_its_limits_and_just_past(key):
    setting, (low, below, high, above) = SETTINGS[key], LIMITS[key]
    assert setting.check(low) == low and setting.check(high) == high
    for bad in (below, above, math.nan, math.inf, True, None, "many"):
        assert refusal(setting.check, bad) == setting.message(bad)


def test_the_sentences_word_for_word():
    assert refusal(SETTINGS["steps"].check, 0) == "steps must be a whole number from 1 to 1000; got 0"
    assert refusal(SETTINGS["steps"].check, 2.5) == "steps must be a whole number from 1 to 1000; got 2.5"
    assert refusal(SETTINGS["size"].check, 1025) == "size (px) must be a whole number from 8 to 1024; got 1025"
    assert refusal(SETTINGS["lr"].check, 0) == "the learning rate must be a number above 0 and at most 10; got 0"
    assert refusal(SETTINGS["guidance_scale"].check, 60.0) == "the guidance scale must be a number from 0 to 50; got 60"
    assert (
        refusal(SETTINGS["cutn"].check, "x" * 41) == f"cutouts must be a whole number from 1 to 64; got {'x' * 37}..."
    )
    assert MAX_GUIDANCE == 50.0 and MAX_WEIGHT == 1e6


def test_whole_settings_come_back_as_int_and_others_as_float():
    assert SETTINGS["steps"].check(3.0) == 3 and type(SETTINGS["steps"].check(3.0)) is int
    assert SETTINGS["steps"].check("7") == 7
    assert SETTINGS["lr"].check(0.5) == 0.5 and type(SETTINGS["lr"].check(1)) is float
    assert Setting("n", 0, 5, whole=False).check(2.5) == 2.5
    assert (
        refusal(Setting("n", 0, 5).check, 10**400)
        == "n must be a whole number from 0 to 5; got " + str(10**400)[:37] + "..."
    )


def test_values_shown_as_people_write_them():
    assert shown(3.0) == "3" and shown(-2.0) == "-2" and shown(2.5) == "2.5" and shown(1e15) == "1e+15"
    assert shown(999999999999999.0) == "999999999999999" and shown(math.nan) == "nan" and shown(7) == "7"
    assert shown("y" * 40) == "y" * 40 and shown("y" * 41) == "y" * 37 + "..."
    assert shown(1.5e-7) == "1.5e-07"


def test_the_method_must_be_known_and_offered():
    assert refusal(check_generation, GenerationConfig(method="dream"), ALL, []) == (
        "method must be one of decoder, vqgan, unclip; got 'dream'"
    )
    with pytest.raises(WeightsError) as missing:
        check_generation(GenerationConfig(method="decoder"), ("vqgan",), [])
    assert str(missing.value) == REGISTRY["decoder"].missing
    bad_steps = GenerationConfig(method="decoder", steps=0)  # every setting is checked whatever the method
    assert refusal(check_generation, bad_steps, ALL, []) == "steps must be a whole number from 1 to 1000; got 0"


def test_the_vqgans_factor_is_the_smallest_size():
    config = GenerationConfig(method="vqgan", size=16)
    assert check_generation(config, ALL, [], downsample=16).size == 16
    assert refusal(check_generation, config, ALL, [], downsample=32) == (
        "size (px) must be at least the VQGAN's 32 px; got 16"
    )
    assert check_generation(dataclasses.replace(config, size=8), ALL, []).size == 8  # no factor known: 1
    decoder = GenerationConfig(method="decoder", size=16)  # the size rule is the VQGAN method's only
    assert check_generation(decoder, ALL, [], downsample=32).size == 16


@pytest.mark.parametrize("size,accepted", [(56, False), (64, True), (72, True), (68, False), (1024, True)])
def test_unclip_sizes_are_multiples_of_8_from_64(size, accepted):
    config = GenerationConfig(method="unclip", size=size)
    if accepted:
        assert check_generation(config, ALL, []).size == size
    else:
        assert refusal(check_generation, config, ALL, []) == (
            f"size (px) must be a multiple of 8 from 64 to 1024 for unCLIP; got {size}"
        )
    vqgan = GenerationConfig(method="vqgan", size=size)  # the rule is unCLIP's only
    assert check_generation(vqgan, ALL, []).size == size


def test_unclips_noise_levels_end_at_its_own_count():
    config = GenerationConfig(method="unclip", size=64, noise_level=499)
    assert check_generation(config, ALL, [], noise_levels=500).noise_level == 499
    assert check_generation(dataclasses.replace(config, noise_level=999), ALL, []).noise_level == 999  # 1000 levels
    too_high = dataclasses.replace(config, noise_level=500)
    assert refusal(check_generation, too_high, ALL, [], noise_levels=500) == (
        "the noise level must be a whole number from 0 to 499 for this unCLIP; got 500"
    )
    vqgan = GenerationConfig(method="vqgan", noise_level=900)  # another method's noise level is not unCLIP's
    assert check_generation(vqgan, ALL, [], noise_levels=500).noise_level == 900


def test_prompt_weights_within_a_million():
    config = GenerationConfig(method="vqgan")
    assert check_generation(config, ALL, [1e6, -1e6, 0.5]).method == "vqgan"
    assert refusal(check_generation, config, ALL, [1.0, 1e6 + 1]) == (
        "a weight of 1000001.0 is not a finite number within ±1e+06"
    )
    assert refusal(check_generation, config, ALL, [-1e6 - 1]) == (
        "a weight of -1000001.0 is not a finite number within ±1e+06"
    )
    assert refusal(check_generation, config, ALL, [math.nan]) == "a weight of nan is not a finite number within ±1e+06"


def test_the_seed_comes_back_resolved():
    assert check_generation(GenerationConfig(seed=7), ALL, []).seed == 7
    drawn = check_generation(GenerationConfig(seed=-1), ALL, []).seed
    assert 0 <= drawn < 2**31
    checked = check_generation(GenerationConfig(seed=5, steps=3), ALL, [])
    assert dataclasses.replace(checked, seed=0) == GenerationConfig(steps=3)  # nothing else changed
