"""The optimised layer-by-layer frontend (every layer on the output's bins only, Hermitian half
band, cached kernel spectra) equals the straightforward computation it replaced: the whole
P x P spectrum, every convolution on its whole grid, pools as crops. Equality only, no timing."""

from __future__ import annotations

import pytest
import torch

from osclc.models.networks.frontend import SpectralFrontend
from osclc.models.layers.spectral_band import SpectralBand
from osclc.models.layers.spectral_conv import SpectralConv2d
from osclc.models.layers.spectral_grid import to_field, to_spectrum
from osclc.models.layers.spectral_pool import SpectralPool2d
from osclc.models.networks.plan import LayerPlan, NetworkPlan


def _straightforward(frontend: SpectralFrontend, x: torch.Tensor) -> torch.Tensor:
    """Full P x P spectrum, each convolution a per-frequency product on its whole grid, each pool a crop, inverse DFT."""
    spectrum, grid = to_spectrum(x, frontend.pad), frontend.pad
    for layer in frontend.layers:
        if isinstance(layer, SpectralConv2d):
            spectrum = torch.einsum("bihw,hwio->bohw", spectrum, layer.response(grid))
        else:
            spectrum, grid = layer(spectrum), layer.out_size
    return to_field(spectrum, frontend.pad)


# conv followed by a conv on the same grid, strided blocks, odd and even grids, a grid the pools leave untouched
PLANS = {
    "alexnet-like": NetworkPlan((LayerPlan(4, 5, 2, 2), LayerPlan(6, 3, 1, 2), LayerPlan(5, 3), LayerPlan(3, 3, 1, 2))),
    "odd-kernels": NetworkPlan((LayerPlan(3, 3, 1, 3), LayerPlan(4, 3))),
    "even-kernels": NetworkPlan((LayerPlan(3, 4, 1, 2), LayerPlan(2, 2, 1, 2))),
}


@pytest.mark.parametrize("plan", sorted(PLANS))
@pytest.mark.parametrize("size", [16, 21])
@pytest.mark.parametrize("nyquist", ["keep", "zero"])
@pytest.mark.parametrize("kernel", ["spatial", "free"])
def test_band_frontend_equals_full_grid_computation(plan: str, size: int, nyquist: str, kernel: str) -> None:
    torch.manual_seed(size)
    frontend = SpectralFrontend.from_plan(PLANS[plan], 2, size, kernel, nyquist).double().eval()  # type: ignore[arg-type]
    x = torch.rand(3, 2, size, size, dtype=torch.float64)
    with torch.no_grad():
        expected = _straightforward(frontend, x)
        for _ in range(2):  # the second call runs on the cached kernel spectra
            assert torch.allclose(frontend(x), expected, rtol=0, atol=1e-12 * float(expected.abs().max()))
        noisy = torch.complex(x, torch.rand_like(x))  # a complex input takes the full window, not the Hermitian half
        assert torch.allclose(frontend(noisy), _straightforward(frontend, noisy), rtol=0, atol=1e-12 * float(expected.abs().max()))


def test_band_frontend_gradients_equal_full_grid_gradients() -> None:
    torch.manual_seed(3)
    frontend = SpectralFrontend.from_plan(PLANS["alexnet-like"], 2, 16).double()
    x = torch.rand(2, 2, 16, 16, dtype=torch.float64)
    grads = []
    for forward in (frontend, lambda images: _straightforward(frontend, images)):
        frontend.zero_grad()
        forward(x).abs().square().sum().backward()
        grads.append([layer.weight.grad.clone() for layer in frontend.layers if isinstance(layer, SpectralConv2d)])
    for got, expected in zip(*grads):
        assert torch.allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_layers_hold_kernel_spectra_of_the_output_band_only() -> None:
    """Every cached kernel spectrum covers the Hermitian half of the final h x h window, not the layer's grid."""
    frontend = SpectralFrontend.from_plan(PLANS["alexnet-like"], 2, 16).eval()
    h = frontend.out_size
    with torch.no_grad():
        frontend(torch.rand(1, 2, 16, 16))
    shapes = {tuple(layer._cache[1].shape[:2]) for layer in frontend.layers if isinstance(layer, SpectralConv2d)}
    assert shapes == {(h + 1 if h % 2 == 0 else h, h // 2 + 1)}


@pytest.mark.parametrize("size,pad", [(5, 9), (6, 10), (6, 6)])
def test_band_spectrum_and_completion_against_numpy_fft(size: int, pad: int) -> None:
    """The band's input DFT is the padded FFT's bins; a Hermitian half band completes to the full window."""
    generator = torch.Generator().manual_seed(size)
    x = torch.rand(2, 1, size, size, generator=generator, dtype=torch.float64)
    full = to_spectrum(x, pad)  # centred P x P
    for window in (1, 2, 3, 4, 5):
        if window > pad:
            continue
        start = pad // 2 - window // 2
        expected = full[..., start : start + window, start : start + window]
        for hermitian in (False, True):
            band = SpectralBand.window(window, hermitian)
            got = band.complete(band.spectrum(x, pad))
            assert torch.allclose(got, expected, atol=1e-12), (window, hermitian)
