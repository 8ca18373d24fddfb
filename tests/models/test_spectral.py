"""Spectral convolution, spectral pooling and the detector against independent computations
(torch conv2d, plain NumPy FFTs, closed forms)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from osclc.models.layers.detector import Detector, detector_channels
from osclc.models.networks.frontend import SpectralFrontend
from osclc.models.layers.spectral_conv import SpectralConv2d
from osclc.models.layers.spectral_grid import crop_centre, smooth_size, to_field, to_spectrum
from osclc.models.layers.spectral_pool import SpectralPool2d

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)


@pytest.mark.parametrize("size,kernel", [(7, 3), (8, 3), (9, 5), (10, 4), (6, 1), (5, 2)])
def test_conv_same_equals_conv2d(size: int, kernel: int, device: torch.device) -> None:
    torch.manual_seed(size * 10 + kernel)
    conv = SpectralConv2d(3, 4, kernel).to(device)
    x = torch.randn(2, 3, size, size, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch notes that even 'same' kernels pad a copy
        expected = F.conv2d(x, conv.weight, padding="same")
    assert torch.allclose(conv.conv_same(x), expected, atol=1e-5)


@pytest.mark.parametrize("size,kernel", [(7, 3), (8, 5), (9, 4), (6, 6)])
def test_one_layer_frontend_cropped_to_input_equals_conv2d(size: int, kernel: int, device: torch.device) -> None:
    """Linear, not circular: with P = N + k - 1 exactly (the tightest wrap-free grid) and a bright
    border, the field on the P window cropped to the input window equals conv2d 'same'."""
    torch.manual_seed(size + kernel)
    pad = size + kernel - 1
    conv = SpectralConv2d(2, 3, kernel)
    frontend = SpectralFrontend(2, size, pad, [conv]).to(device)
    x = torch.rand(2, 2, size, size, device=device)
    x[..., 0, :] += 5.0
    x[..., :, -1] += 5.0
    field = frontend(x)
    offset = (pad - size) // 2
    window = field[..., offset : offset + size, offset : offset + size]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = F.conv2d(x, conv.weight, padding="same")
    assert torch.allclose(window.real, expected, atol=1e-4)
    assert window.imag.abs().max() < 1e-4
    if kernel % 2 == 0:
        return  # even kernels spread asymmetrically (k/2 left, k/2 - 1 right): the centred window is one short
    # odd kernels: the whole P x P field is the full linear correlation of the input in its window
    centre = (kernel - 1) // 2
    placed = F.pad(x, (offset, pad - size - offset, offset, pad - size - offset))
    linear = F.conv2d(F.pad(placed, (centre, kernel - 1 - centre, centre, kernel - 1 - centre)), conv.weight)
    assert torch.allclose(field.real, linear, atol=1e-4)


def test_spatial_kernel_spectrum_is_dft_of_flipped_centred_kernel() -> None:
    """K = DFT of the flipped kernel h[m] = w[c - m] placed with its centre tap at the origin."""
    torch.manual_seed(1)
    grid, k = 11, 4
    conv = SpectralConv2d(2, 3, k).double()
    w = conv.weight.detach().numpy()
    c = (k - 1) // 2
    h = np.zeros((3, 2, grid, grid))
    for j1 in range(k):
        for j2 in range(k):
            h[:, :, (c - j1) % grid, (c - j2) % grid] = w[:, :, j1, j2]
    expected = np.fft.fftshift(np.fft.fft2(h), axes=(-2, -1)).transpose(2, 3, 1, 0)  # [M, M, c_in, c_out]
    assert np.allclose(conv.response(grid).detach().numpy(), expected, atol=1e-12)


def test_free_kernel_is_a_per_frequency_product(device: torch.device) -> None:
    torch.manual_seed(2)
    grid = 9
    conv = SpectralConv2d(2, 3, 3, kernel="free", grid=grid).double().to(device)
    kernel = torch.view_as_complex(conv.spectrum.detach()).cpu().numpy()  # [M, M, c_in, c_out]
    x = np.random.default_rng(0).normal(size=(4, 2, grid, grid)) + 1j * np.random.default_rng(1).normal(size=(4, 2, grid, grid))
    out = conv(torch.from_numpy(x).to(device)).detach().cpu().numpy()
    assert np.allclose(out, np.einsum("bihw,hwio->bohw", x, kernel), atol=1e-12)
    with pytest.raises(ValueError, match="grid"):
        conv(torch.zeros(1, 2, grid + 2, grid + 2, dtype=torch.complex128, device=device))


def test_free_kernel_needs_its_grid() -> None:
    with pytest.raises(ValueError, match="grid"):
        SpectralConv2d(1, 1, 3, kernel="free")


@pytest.mark.parametrize("size,out", [(12, 5), (12, 6), (11, 4), (11, 7), (9, 9)])
def test_spectral_pool_is_eq6_centre_crop(size: int, out: int, device: torch.device) -> None:
    """Eq. 6 with NumPy: keep integer frequencies -(out//2)..out-out//2-1, inverse, rescale."""
    rng = np.random.default_rng(size * out)
    x = rng.normal(size=(2, 3, size, size))
    spectrum = np.fft.fft2(x)
    freqs = np.round(np.fft.fftfreq(size) * size).astype(int)
    kept = [f for f in range(-(out // 2), out - out // 2)]
    index = [int(np.where(freqs == f)[0][0]) for f in kept]
    cropped = spectrum[..., index, :][..., :, index]  # centred order of the new grid
    expected = np.fft.ifft2(np.fft.ifftshift(cropped, axes=(-2, -1))) * (out * out) / (size * size)
    pool = SpectralPool2d(out)
    got = to_field(pool(to_spectrum(torch.from_numpy(x).to(device), size)), size)
    assert np.allclose(got.cpu().numpy(), expected, atol=1e-12)


def test_spectral_pool_downsamples_band_limited_signals_exactly() -> None:
    """A cosine below the new Nyquist frequency comes out as the same cosine on the coarser grid."""
    size, out, f0 = 24, 8, 3
    grid = np.arange(size)
    x = np.cos(2 * np.pi * f0 * grid / size)[None, :] * np.cos(2 * np.pi * 2 * grid / size)[:, None]
    field = to_field(SpectralPool2d(out)(to_spectrum(torch.from_numpy(x)[None, None], size)), size)[0, 0].numpy()
    coarse = np.arange(out)
    expected = np.cos(2 * np.pi * f0 * coarse / out)[None, :] * np.cos(2 * np.pi * 2 * coarse / out)[:, None]
    assert np.allclose(field, expected, atol=1e-12)


def test_even_size_nyquist_handling() -> None:
    """Even out size: 'keep' keeps the one-sided -out/2 row/column (a real input gives a complex
    output), 'zero' zeroes it (real in -> real out); odd out sizes are symmetric either way."""
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.normal(size=(1, 1, 10, 10)))
    spectrum = to_spectrum(x, 10)
    kept = to_field(SpectralPool2d(6, "keep")(spectrum), 10)
    zeroed_spectrum = SpectralPool2d(6, "zero")(spectrum)
    zeroed = to_field(zeroed_spectrum, 10)
    assert kept.imag.abs().max() > 1e-3
    assert zeroed.imag.abs().max() < 1e-12
    assert torch.all(zeroed_spectrum[..., 0, :] == 0) and torch.all(zeroed_spectrum[..., :, 0] == 0)
    assert torch.allclose(zeroed_spectrum[..., 1:, 1:], crop_centre(spectrum, (6, 6))[..., 1:, 1:])
    for mode in ("keep", "zero"):
        odd = to_field(SpectralPool2d(5, mode)(spectrum), 10)
        assert odd.imag.abs().max() < 1e-12


def test_spectral_pool_refuses_growth() -> None:
    with pytest.raises(ValueError, match="crop"):
        SpectralPool2d(8)(torch.zeros(1, 1, 6, 6, dtype=torch.complex64))


def test_detector_modes(device: torch.device) -> None:
    field = torch.tensor([[[[3 + 4j, -1j]]]], dtype=torch.complex64, device=device)  # [1, 1, 1, 2]
    assert torch.equal(Detector("intensity")(field).cpu(), torch.tensor([[[[25.0, 1.0]]]]))
    assert torch.equal(Detector("field")(field).cpu(), torch.tensor([[[[3.0, 0.0]], [[4.0, -1.0]]]]))
    assert torch.equal(Detector("none")(field).cpu(), torch.tensor([[[[3.0, 0.0]]]]))
    real = torch.tensor([[[[2.0, -3.0]]]], device=device)
    assert torch.equal(Detector("intensity")(real).cpu(), torch.tensor([[[[4.0, 9.0]]]]))
    assert torch.equal(Detector("field")(real), real) and torch.equal(Detector("none")(real), real)
    assert detector_channels("field", 5) == 10 and detector_channels("field", 5, complex_field=False) == 5
    assert detector_channels("intensity", 5) == 5
    with pytest.raises(ValueError, match="mode"):
        Detector("phase")  # type: ignore[arg-type]


def test_smooth_size() -> None:
    assert smooth_size(362, 32) == 384
    assert smooth_size(1162, 32) == 1280
    assert smooth_size(7) == 8 and smooth_size(11) == 12 and smooth_size(1) == 1


def test_kernel_spectrum_cache_follows_parameter_updates() -> None:
    torch.manual_seed(4)
    conv = SpectralConv2d(1, 1, 3)
    x = to_spectrum(torch.rand(1, 1, 6, 6), 8)
    with torch.no_grad():
        before = conv(x).clone()
        conv.weight.mul_(2.0)
        after = conv(x)
    assert torch.allclose(after, 2 * before, atol=1e-6)


@pytest.mark.parametrize("size,pad,out", [(7, 12, 5), (8, 12, 6), (9, 15, 8)])
def test_conv_then_pool_matches_numpy(size: int, pad: int, out: int) -> None:
    """Frontend conv -> spectral pool (evaluated on the kept bins only) against the full-grid NumPy
    product of the padded input's FFT and the flipped kernel's FFT, then the eq. 6 crop."""
    torch.manual_seed(size)
    k = 3
    conv = SpectralConv2d(2, 3, k).double()
    frontend = SpectralFrontend(2, size, pad, [conv, SpectralPool2d(out)])
    x = np.random.default_rng(size).normal(size=(2, 2, size, size))
    offset = (pad - size) // 2
    padded = np.zeros((2, 2, pad, pad))
    padded[..., offset : offset + size, offset : offset + size] = x
    w = conv.weight.detach().numpy()
    h = np.zeros((3, 2, pad, pad))
    for j1 in range(k):
        for j2 in range(k):
            h[:, :, (1 - j1) % pad, (1 - j2) % pad] = w[:, :, j1, j2]
    product = np.einsum("bihw,oihw->bohw", np.fft.fft2(padded), np.fft.fft2(h))
    centred = np.fft.fftshift(product, axes=(-2, -1))
    start = pad // 2 - out // 2
    cropped = centred[..., start : start + out, start : start + out]
    expected = np.fft.ifft2(np.fft.ifftshift(cropped, axes=(-2, -1))) * out * out / pad**2
    got = frontend(torch.from_numpy(x)).detach().numpy()
    assert np.allclose(got, expected, atol=1e-10)
