"""The nominal scales of the 4f geometry (DESIGN.md, physics conventions): where lens 1 puts the spectrum on the
SLM and where lens 2 images the input on the camera. Calibration measures the actual maps; these are what the
bench config's optics say."""

from __future__ import annotations


def fourier_scale_px(wavelength_m: float, f1_m: float, pad: int, input_pitch_m: float, slm_pitch_m: float) -> float:
    """SLM pixels per DFT bin of the ``pad``-padded input grid: one bin lies ``wavelength * f1 / (P * p_in)`` metres
    from the next on the SLM, i.e. ``s = wavelength * f1 / (P * p_in * p_slm)`` pixels (all lengths in metres)."""
    return wavelength_m * f1_m / (pad * input_pitch_m * slm_pitch_m)


def camera_scale_px(input_pitch_m: float, f1_m: float, f2_m: float, camera_pitch_m: float) -> float:
    """Camera pixels per input-modulator pixel in the nominal image (magnification ``f2 / f1``; the image is
    inverted): ``p_in * f2 / (f1 * p_cam)`` (all lengths in metres)."""
    return input_pitch_m * f2_m / (f1_m * camera_pitch_m)
