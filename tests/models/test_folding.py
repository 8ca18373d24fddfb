"""Folding: one per-frequency operator equals the layer-by-layer frontend, for any depth."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from osclc.models.networks.architecture import ClassificationArch, build_model
from osclc.models.layers.backend import Backend
from osclc.models.layers.detector import Detector, detector_channels
from osclc.models.folding import FoldedFileError, FoldedFrontend, FoldedSCLC, fold, fold_frontend
from osclc.models.networks.frontend import MaxPoolFrontend, SpectralFrontend
from osclc.models.networks.plan import LayerPlan, NetworkPlan
from osclc.models.networks.sclc import SCLC
from osclc.models.layers.spectral_conv import SpectralConv2d
from osclc.models.layers.spectral_pool import SpectralPool2d

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# grids per depth (the first entry is P); odd and even grids, odd and even crops
GRIDS = {
    "even": [16, 11, 8, 5, 4],
    "odd": [15, 10, 7, 6, 3],
}


def _student(depth: int, size: int, grids: list[int], detector: str = "intensity", kernel: str = "spatial", nyquist: str = "keep", channels: int = 2) -> SCLC:
    layers: list[torch.nn.Module] = []
    chans = channels
    for level in range(depth):
        out = 3 + level
        layers.append(SpectralConv2d(chans, out, 3 if level % 2 == 0 else 2, kernel=kernel, grid=grids[level]))  # type: ignore[arg-type]
        layers.append(SpectralPool2d(grids[level + 1], nyquist))  # type: ignore[arg-type]
        chans = out
    frontend = SpectralFrontend(channels, size, grids[0], layers)
    backend = Backend(detector_channels(detector, chans), frontend.out_size, frontend.out_size, 5)
    return SCLC(frontend, Detector(detector), backend)  # type: ignore[arg-type]


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("parity", ["even", "odd"])
@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_fold_equals_layer_by_layer(depth: int, parity: str, dtype: torch.dtype, tolerance: float) -> None:
    torch.manual_seed(depth)
    size = 8 if parity == "even" else 7
    student = _student(depth, size, GRIDS[parity], nyquist="zero" if depth == 3 else "keep").to(dtype)
    folded = fold(student)
    x = torch.rand(3, 2, size, size, dtype=dtype)
    with torch.no_grad():
        expected = student.field(x)
        assert folded.kernel.shape == (2, 2 + depth, *expected.shape[-2:])
        assert _relative(folded.field(x), expected) < tolerance
        assert _relative(folded(x), student(x)) < tolerance


@pytest.mark.parametrize("channels", [1, 6])
def test_fold_equals_layer_by_layer_few_and_many_input_channels(channels: int) -> None:
    """Up to 4 input channels the folded mix is a broadcast sum, above it a batched matrix product (``mix_channels``)."""
    torch.manual_seed(channels)
    student = _student(2, 8, GRIDS["even"], channels=channels).double()
    x = torch.rand(3, channels, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        assert _relative(fold(student)(x), student(x)) < 1e-10


@pytest.mark.parametrize("detector", ["intensity", "field", "none"])
def test_fold_free_kernels_and_detectors(detector: str) -> None:
    torch.manual_seed(5)
    student = _student(2, 8, GRIDS["even"], detector=detector, kernel="free").double()
    x = torch.rand(2, 2, 8, 8, dtype=torch.float64)
    folded = fold(student)
    with torch.no_grad():
        assert _relative(folded.features(x), student.features(x)) < 1e-10
        assert _relative(folded(x), student(x)) < 1e-10
    assert folded.detector == detector


@pytest.mark.parametrize("detector", ["intensity", "field", "none"])
def test_frontend_folds_without_a_backend(detector: str) -> None:
    """A bare frontend (no student, no backend) folds; its features equal detector(frontend(x)) layer by layer."""
    torch.manual_seed(11)
    frontend = _student(3, 7, GRIDS["odd"]).frontend.double()
    folded = fold_frontend(frontend, detector)  # type: ignore[arg-type]
    assert type(folded) is FoldedFrontend and not hasattr(folded, "backend")
    x = torch.rand(2, 2, 7, 7, dtype=torch.float64)
    with torch.no_grad():
        field = frontend(x)
        assert _relative(folded.field(x), field) < 1e-10
        assert _relative(folded(x), Detector(detector)(field)) < 1e-10  # type: ignore[arg-type]
    assert folded.kernel.dtype == torch.complex128 and folded.detector == detector


def test_fold_frontend_refuses_a_max_pool_frontend() -> None:
    plan = NetworkPlan((LayerPlan(2, 3, 1, 2),))
    with pytest.raises(ValueError, match="SpectralFrontend"):
        fold_frontend(MaxPoolFrontend(plan, 1, 8), "intensity")  # type: ignore[arg-type]


def test_folded_kernel_of_one_layer_is_the_numpy_kernel_dft() -> None:
    """Independent: K_eff of conv + crop = DFT (P grid) of the flipped, centred kernel, cropped."""
    torch.manual_seed(6)
    pad, out, k = 12, 5, 3
    conv = SpectralConv2d(1, 2, k)
    student = SCLC(SpectralFrontend(1, 9, pad, [conv, SpectralPool2d(out)]), Detector("intensity"), Backend(2, out, out, 3))
    w = conv.weight.detach().double().numpy()
    h = np.zeros((2, pad, pad))
    for j1 in range(k):
        for j2 in range(k):
            h[:, (1 - j1) % pad, (1 - j2) % pad] = w[:, 0, j1, j2]
    spectrum = np.fft.fftshift(np.fft.fft2(h), axes=(-2, -1))
    start = pad // 2 - out // 2
    expected = spectrum[:, start : start + out, start : start + out]
    assert np.allclose(fold(student).kernel[0].numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("size,out", [(9, 7), (8, 8), (9, 6), (8, 5)])
def test_partial_dft_gives_the_low_frequencies_of_the_padded_fft(size: int, out: int) -> None:
    rng = np.random.default_rng(7)
    pad = 20
    student = _student(1, size, [pad, out], channels=2).double()
    folded = fold(student)
    x = rng.normal(size=(2, 2, size, size))
    padded = np.zeros((2, 2, pad, pad))
    offset = (pad - size) // 2
    padded[..., offset : offset + size, offset : offset + size] = x
    spectrum = np.fft.fft2(padded)
    freqs = np.fft.ifftshift(np.arange(out) - out // 2)  # FFT order of the out-bin grid
    expected = spectrum[..., freqs % pad, :][..., :, freqs % pad]
    assert np.allclose(folded.spectrum(torch.from_numpy(x)).numpy(), expected, atol=1e-10)
    real_path = folded.spectrum(torch.from_numpy(x))
    complex_path = folded.spectrum(torch.from_numpy(x).to(torch.complex128))
    assert torch.allclose(real_path, complex_path, atol=1e-10)


def test_fold_of_the_default_student_and_backend_only() -> None:
    torch.manual_seed(8)
    student = build_model(ClassificationArch(), 1, 8, 10).double()
    folded = fold(student)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        assert _relative(folded(x), student(x)) < 1e-10
    assert (folded.pad, folded.input_size, folded.out_size) == (16, 8, (8, 8))
    identity = fold(build_model(ClassificationArch(variant="backend_only", detector="none"), 1, 8, 10).double())
    assert identity.pad == 8 and identity.out_size == (8, 8)
    assert torch.allclose(identity.field(x).real, x, atol=1e-12)


def test_fold_refuses_unfoldable_models() -> None:
    with pytest.raises(ValueError, match="sclc_maxpool"):
        fold(build_model(ClassificationArch(variant="sclc_maxpool"), 1, 8, 10))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="teacher"):
        fold(build_model(ClassificationArch(variant="teacher"), 1, 8, 10))  # type: ignore[arg-type]


@pytest.mark.parametrize("device", DEVICES)
def test_folded_runs_on_every_device(device: str) -> None:
    torch.manual_seed(9)
    student = _student(2, 8, GRIDS["even"]).to(device)
    folded = fold(student)
    assert folded.kernel.device.type == device
    x = torch.rand(2, 2, 8, 8, device=device)
    with torch.no_grad():
        assert _relative(folded(x), student(x)) < 1e-5


def test_save_and_load_round_trip(tmp_path) -> None:
    torch.manual_seed(10)
    student = _student(2, 7, GRIDS["odd"], detector="field")
    folded = fold(student)
    path = folded.save(tmp_path / "model.folded.npz")
    assert path == tmp_path / "model.folded.npz" and path.is_file()
    meta = json.loads(np.load(path, allow_pickle=False)["meta"].tobytes())
    assert meta["pad"] == 15 and meta["out_size"] == [7, 7] and meta["detector"] == "field"
    assert meta["frequency_order"] == "centred" and meta["backend"]["kind"] == "linear"
    loaded = FoldedSCLC.load(path)
    x = torch.rand(2, 2, 7, 7)
    with torch.no_grad():
        assert torch.equal(loaded(x), folded(x))
    assert torch.equal(loaded.kernel, folded.kernel)


def test_load_refuses_bad_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        FoldedSCLC.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip archive")
    with pytest.raises(FoldedFileError, match="junk.npz"):
        FoldedSCLC.load(junk)
    folded = fold(_student(1, 8, GRIDS["even"]))
    path = folded.save(tmp_path / "ok.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["kernel"] = arrays["kernel"][:, :, :3]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(FoldedFileError, match="shape"):
        FoldedSCLC.load(bad)
    arrays.pop("kernel")
    np.savez(bad, **arrays)
    with pytest.raises(FoldedFileError, match="kernel"):
        FoldedSCLC.load(bad)


def test_folded_refuses_non_finite_kernels() -> None:
    kernel = torch.zeros(1, 1, 3, 3, dtype=torch.complex64)
    kernel[0, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        FoldedSCLC(kernel, 8, 6, "intensity", Backend(1, 3, 3, 2))
