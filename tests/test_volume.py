"""The volume control: parsing, gain, and the explicit clipping policy."""

from __future__ import annotations

import numpy as np
import pytest

from wavbrivl import InputError, apply_gain, parse_volume


@pytest.mark.parametrize(
    "text,db", [("6", 6.0), ("+6dB", 6.0), ("-12 db", -12.0), ("2x", 6.0206), ("0.5x", -6.0206), (3, 3.0)]
)
def test_parse_volume(text, db):
    assert parse_volume(text) == pytest.approx(db, abs=1e-3)


@pytest.mark.parametrize("bad", ["loud", "0x", "-1x", "6 dBFS"])
def test_parse_volume_rejects(bad):
    with pytest.raises(InputError):
        parse_volume(bad)


def test_gain_scales_waveform_and_reports_over_full_scale():
    wave = np.array([0.1, -0.4, 0.6], dtype=np.float32)
    out, report = apply_gain(wave, 6.0206)
    np.testing.assert_allclose(out, wave * 2, rtol=1e-4)
    assert report.samples_over_full_scale == 1 and report.peak_out == pytest.approx(1.2, rel=1e-4)
    assert "exceed full scale" in report.message()


def test_clip_policy_hard_clips():
    out, report = apply_gain(np.array([0.6, -0.9], dtype=np.float32), 12.0, policy="clip")
    assert np.abs(out).max() == 1.0 and report.exceeds_full_scale and "hard-clipped" in report.message()
    with pytest.raises(InputError, match="policy"):
        apply_gain(out, 0.0, policy="limit")


def test_the_cli_and_the_api_read_volumes_with_one_syntax():
    """`wavbrivl` protects negative volumes from argparse with the same pattern parse_volume reads."""
    from wavbrivl.cli import _protect_negative_volumes
    from wavbrivl.volume import parse_volume

    argv = ["rank", "--volume", "-6dB", "--volumes", "-.5db", "-12", "--seed", "-1", "--json"]
    protected = _protect_negative_volumes(argv)
    assert protected[2] == " -6dB" and protected[4] == " -.5db" and protected[-1] == "--json"
    assert [parse_volume(v) for v in protected[2:6:2]] == [-6.0, -0.5]


def test_seed_minus_one_means_random_everywhere():
    from wavbrivl.generation import resolve_seed

    assert resolve_seed(7) == 7
    drawn = {resolve_seed(-1) for _ in range(5)}
    assert len(drawn) > 1 and all(0 <= s < 2**31 for s in drawn)
    with pytest.raises(ValueError, match="random"):
        resolve_seed(-2)
