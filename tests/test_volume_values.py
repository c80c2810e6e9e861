"""The volume control in worked values: its limits at exactly ±120 dB and just past, its messages word for word,
and the gain's samples, peaks and clipping (issue 31: mutation testing of wavbrivl/volume.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavbrivl.errors import InputError
from wavbrivl.volume import MAX_VOLUME_DB, apply_gain, check_volume_db, db_to_gain, gain_to_db, parse_volume

EXPECTED = "expected decibels like '-6', '+6dB' or a factor like '0.5x'"


def refusal(call, *args) -> str:
    with pytest.raises(InputError) as refused:
        call(*args)
    return str(refused.value)


def test_decibels_and_factors_in_worked_values():
    assert db_to_gain(20.0) == pytest.approx(10.0) and db_to_gain(-40.0) == pytest.approx(0.01)
    assert gain_to_db(10.0) == pytest.approx(20.0) and gain_to_db(1.0) == 0.0
    assert refusal(gain_to_db, 0.0) == "volume factor must be positive, got 0.0"
    assert refusal(gain_to_db, -2) == "volume factor must be positive, got -2"


def test_the_limit_is_120_db_exactly():
    assert MAX_VOLUME_DB == 120.0
    assert check_volume_db(120.0) == 120.0 and check_volume_db(-120.0) == -120.0
    assert parse_volume("120") == 120.0 and parse_volume("1000000x") == 120.0  # a factor of a million is 120 dB
    assert refusal(check_volume_db, 120.001) == f"volume 120.001 dB is beyond ±120 dB; {EXPECTED}"
    assert refusal(check_volume_db, -120.5, "-120.5") == f"volume '-120.5' (-120.5 dB) is beyond ±120 dB; {EXPECTED}"
    assert refusal(parse_volume, "1000001x") == f"volume '1000001x' (120 dB) is beyond ±120 dB; {EXPECTED}"
    assert refusal(check_volume_db, math.nan) == f"volume nan dB is not a finite number; {EXPECTED}"
    assert refusal(parse_volume, math.inf) == f"volume inf dB is not a finite number; {EXPECTED}"


def test_volume_texts_are_echoed_whole_up_to_40_characters():
    forty, forty_one = "v" * 40, "v" * 41
    assert refusal(parse_volume, forty) == f"volume '{forty}': {EXPECTED}"
    assert refusal(parse_volume, forty_one) == f"volume '{'v' * 37}...': {EXPECTED}"


@pytest.mark.parametrize("factor", ["0x", "-1x", "0.0x"])
def test_a_factor_must_be_positive(factor):
    expected = f"volume '{factor}': a factor must be a positive finite number, like '0.5x' or '2x'"
    assert refusal(parse_volume, factor) == expected


def test_gain_samples_in_float32_whatever_came_in():
    wave = np.random.default_rng(0).uniform(-0.3, 0.3, 1000)  # float64
    out, report = apply_gain(wave, 5.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, wave.astype(np.float32) * np.float32(db_to_gain(5.0)))
    assert report.peak_in == pytest.approx(float(np.abs(wave).max()))
    unchanged, flat = apply_gain(wave)  # 0 dB by default
    np.testing.assert_array_equal(unchanged, wave.astype(np.float32))
    assert (flat.gain_db, flat.gain) == (0.0, 1.0)


def test_full_scale_itself_is_not_over_and_clipping_keeps_the_sign():
    _, at_full_scale = apply_gain(np.array([1.0, -1.0, 0.5], dtype=np.float32))
    assert at_full_scale.samples_over_full_scale == 0 and not at_full_scale.exceeds_full_scale
    clipped, report = apply_gain(np.array([0.5, -0.9, 0.1], dtype=np.float32), 12.0, policy="clip")
    np.testing.assert_allclose(clipped, [1.0, -1.0, 0.1 * db_to_gain(12.0)], rtol=1e-6)
    assert (report.samples_over_full_scale, report.peak_in, report.peak_out) == (2, pytest.approx(0.9), 1.0)
    assert report.policy == "clip"


def test_empty_waveform_peaks_are_zero():
    out, report = apply_gain(np.zeros(0, dtype=np.float32), 6.0)
    assert out.size == 0 and (report.peak_in, report.peak_out, report.samples_over_full_scale) == (0.0, 0.0, 0)


def test_messages_word_for_word():
    wave = np.array([0.5, -0.9], dtype=np.float32)
    assert apply_gain(wave, 12.0, "clip")[1].message() == (
        "gain +12.0 dB (×3.98), peak 1.000; 2 samples exceed full scale, hard-clipped to ±1"
    )
    assert apply_gain(wave, 12.0)[1].message() == (
        "gain +12.0 dB (×3.98), peak 3.583; 2 samples exceed full scale, kept beyond full scale (policy 'allow')"
    )
    assert apply_gain(wave, -6.0)[1].message() == "gain -6.0 dB (×0.501), peak 0.451"
