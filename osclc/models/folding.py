"""Folding an SCLC's frontend into one per-frequency operator: the single 4f pass.

Every layer of a ``SpectralFrontend`` is diagonal in frequency, and a spectral pool is a
selection of bins, so ``crop(X * K) = crop(X) * crop(K)``: a frontend of any depth equals

    Y[b, o, f] = sum_i X[b, i, f] * K_eff[i, o, f],   f in the final h x w grid,
    K_eff[:, :, f] = K_1[:, :, f] @ K_2[:, :, f] @ ... (each layer's kernel at bin f, times any
    Nyquist mask of the pools),

with ``X`` the centred DFT of the input zero-padded to the P x P window (``fold_kernel``).
``fold_frontend(frontend, detector)`` gives a ``FoldedFrontend`` (kernel + detector: what
calibration compiles, e.g. one per level of the segmentation student); ``fold(student)`` a
``FoldedSCLC`` (the same plus the student's backend: logits, ``save`` / ``load``). Only the h x w
lowest frequencies of the input matter, so ``FoldedFrontend.field`` computes them directly with
partial DFT matrices (real arithmetic; for a real input only the rows 0..h/2, the rest by
Hermitian symmetry: about N^2 (h + 2) multiply-adds per channel instead of a P x P FFT),
mixes channels per frequency and takes one small h x w inverse FFT. The result equals the
layer-by-layer frontend up to rounding (tested: 1e-5 relative in float32, 1e-10 in float64).

Conventions (see ``spectral_grid``): ``kernel`` is ``K_eff[c_in, c_out, h, w]``, complex, in
centred (fftshift) order: index (i, j) is the integer frequency (i - h // 2, j - w // 2) in
bins of 1 / P cycles per input pixel; the input sits at offset ``(P - N) // 2`` in the window;
``field(x)`` gives the band-limited output at window coordinates ``(m P / h, n P / w)`` input
pixels, amplitude-normalised (``to_field``).

File format (``save`` / ``load``; no pickle): one NumPy ``.npz`` archive holding

* ``kernel``: complex64 or complex128 ``[c_in, c_out, h, w]``, centred order;
* ``backend.<name>``: every tensor of the backend's ``state_dict`` (float arrays), e.g.
  ``backend.gain``, ``backend.offset``, ``backend.head.weight``, ``backend.head.bias``;
* ``meta``: uint8 bytes of a UTF-8 JSON object ``{"format": "osclc-folded-sclc", "version": 1,
  "input_size": N, "pad": P, "offset": o, "out_size": [h, w], "in_channels", "out_channels",
  "detector": mode, "frequency_order": "centred", "backend": {constructor arguments}}``.
  Read it with ``json.loads(np.load(path)["meta"].tobytes())``.
"""

from __future__ import annotations

import copy
import json
import math
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from osclc.models.layers.backend import Backend
from osclc.models.layers.detector import DETECTOR_MODES, Detector, DetectorMode
from osclc.models.networks.frontend import SpectralFrontend
from osclc.models.networks.sclc import SCLC
from osclc.models.layers.spectral_conv import SpectralConv2d, complex_dtype, mix_channels
from osclc.models.layers.spectral_grid import centred_frequencies, input_offset
from osclc.models.layers.spectral_pool import SpectralPool2d
from osclc.storage import save_npz

FORMAT = "osclc-folded-sclc"
VERSION = 1


class FoldedFileError(ValueError):
    """A folded-model file that is missing pieces, inconsistent or not a folded model."""


def partial_dft(frequencies: torch.Tensor, size: int, offset: int, pad: int) -> torch.Tensor:
    """``D[f, y] = exp(-2 pi i f (y + offset) / pad)`` for y in 0..size-1 (complex128, float64 phases)."""
    angle = (-2 * math.pi / pad) * frequencies.to(torch.float64)[:, None] * (torch.arange(size, dtype=torch.float64) + offset)[None, :]
    return torch.polar(torch.ones_like(angle), angle)


class _FastPath(NamedTuple):
    """What the folded forward needs on one device.

    A real input's spectrum is Hermitian, ``X(-f) = conj(X(f))``, so only the rows
    ``fy = 0 .. h // 2`` are computed (``rows_real``: cos and -sin parts stacked, [2R, N]; the
    large first product) for the columns ``fx`` of the grid in FFT order plus ``+w / 2`` for
    even w (``cols_real``, [N, 2C]); the negative rows are conjugates (columns re-indexed by
    ``neg_cols``).
    """

    rows_real: torch.Tensor
    cols_real: torch.Tensor
    neg_cols: torch.Tensor
    rows: torch.Tensor  # complex [h, N] (complex inputs)
    cols: torch.Tensor  # complex [N, w]
    kernel_channels: torch.Tensor  # [c_in, c_out, h, w], FFT order, scaled by h w / P^2
    kernel_frequencies: torch.Tensor  # the same, output-major [h, w, c_out, c_in] (mix_channels)

    @classmethod
    def build(cls, kernel: torch.Tensor, size: int, offset: int, pad: int) -> _FastPath:
        real = torch.float64 if kernel.dtype == torch.complex128 else torch.float32
        height, width = kernel.shape[-2:]
        fy = torch.fft.ifftshift(centred_frequencies(height))  # FFT order, so no shift before ifft2
        fx = torch.fft.ifftshift(centred_frequencies(width))
        fx_ext = torch.cat((fx, torch.tensor([width // 2] * (1 - width % 2), dtype=torch.int64)))
        position = {int(f): index for index, f in enumerate(fx_ext)}
        neg_cols = torch.tensor([position[int(-f)] for f in fx], dtype=torch.int64)
        rows_half = partial_dft(torch.arange(height // 2 + 1), size, offset, pad)  # [R, N]
        cols_ext = partial_dft(fx_ext, size, offset, pad).T  # [N, C]
        device = kernel.device
        scaled = torch.fft.ifftshift(kernel, dim=(-2, -1)) * (height * width / pad**2)
        return cls(
            rows_real=torch.cat((rows_half.real, rows_half.imag), 0).to(device, real).contiguous(),
            cols_real=torch.cat((cols_ext.real, cols_ext.imag), 1).to(device, real).contiguous(),
            neg_cols=neg_cols.to(device),
            rows=partial_dft(fy, size, offset, pad).to(device, kernel.dtype),
            cols=partial_dft(fx, size, offset, pad).T.to(device, kernel.dtype),
            kernel_channels=scaled.contiguous(),
            kernel_frequencies=scaled.permute(2, 3, 1, 0).contiguous(),
        )

    def real_spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, N, N] real -> [B, C, h, w] complex spectrum in FFT order."""
        height, width = self.kernel_channels.shape[-2:]
        half, extended = self.rows_real.shape[0] // 2, self.cols_real.shape[1] // 2
        blocks = (self.rows_real @ x) @ self.cols_real  # [B, C, 2R, 2C]: (Re, Im) x (Re, Im)
        spectrum = torch.complex(blocks[..., :half, :extended] - blocks[..., half:, extended:], blocks[..., :half, extended:] + blocks[..., half:, :extended])
        positive = spectrum[..., : (height + 1) // 2, :width]
        negative = spectrum[..., 1 : height // 2 + 1, :].flip(-2).index_select(-1, self.neg_cols).conj()
        return torch.cat((positive, negative), dim=-2)

    def mix(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Per-frequency channel mixing with the scaled kernel (broadcast sums for few input channels)."""
        if self.kernel_channels.shape[0] > 4:
            return mix_channels(spectrum, self.kernel_frequencies)
        out = spectrum[:, 0, None] * self.kernel_channels[0]
        for index in range(1, self.kernel_channels.shape[0]):
            out = out + spectrum[:, index, None] * self.kernel_channels[index]
        return out


class FoldedFrontend(nn.Module):
    """A folded frontend and its detector: ``K_eff`` on the final h x w grid, no backend.

    Attributes: ``kernel`` (complex ``[c_in, c_out, h, w]``, centred order), ``pad`` (P),
    ``input_size`` (N), ``offset`` (input placement in the window), ``out_size`` (h, w),
    ``detector`` (mode string). This is what calibration compiles into SLM patterns; calling it
    gives the detector output (``features``). The kernel is treated as immutable (the fast-path
    matrices are cached per device/dtype). The precision follows the kernel (complex64 ->
    float32, complex128 -> float64); ``.to(device)`` moves everything.
    """

    kernel: torch.Tensor  # a registered buffer

    def __init__(self, kernel: torch.Tensor, pad: int, input_size: int, detector: str) -> None:
        super().__init__()
        if not kernel.is_complex() or kernel.dim() != 4:
            raise ValueError(f"folded kernel: expected a complex [c_in, c_out, h, w] tensor, got {kernel.dtype} {tuple(kernel.shape)}")
        if not torch.isfinite(torch.view_as_real(kernel)).all():
            raise ValueError("folded kernel: contains NaN or infinite values; refold from a finite model")
        height, width = kernel.shape[-2:]
        input_offset(input_size, pad)
        if max(height, width) > pad:
            raise ValueError(f"folded kernel: grid {height}x{width} is larger than the pad P={pad}")
        if detector not in DETECTOR_MODES:
            raise ValueError(f"folded detector: {detector!r}; use one of {', '.join(DETECTOR_MODES)}")
        self.register_buffer("kernel", kernel)
        self.pad, self.input_size, self.offset = pad, input_size, input_offset(input_size, pad)
        self.out_size = (height, width)
        self.in_channels, self.out_channels = kernel.shape[0], kernel.shape[1]
        self.detector = detector
        self._detect = Detector(detector)  # type: ignore[arg-type]
        self._fast_cache: tuple[tuple, _FastPath] | None = None

    def extra_repr(self) -> str:
        return f"c_in={self.in_channels}, c_out={self.out_channels}, N={self.input_size}, P={self.pad}, out={self.out_size}, detector={self.detector!r}"

    def frequencies(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Centred integer frequencies (rows, columns) of the kernel's bins (units: 1/P cycles per input pixel)."""
        return centred_frequencies(self.out_size[0]), centred_frequencies(self.out_size[1])

    def _fast(self) -> _FastPath:
        """Partial-DFT matrices and the kernel in FFT order, cached per device / dtype / kernel version."""
        kernel = self.kernel
        key = (kernel.device, kernel.dtype, kernel.data_ptr(), kernel._version)
        if self._fast_cache is None or self._fast_cache[0] != key:
            self._fast_cache = (key, _FastPath.build(kernel, self.input_size, self.offset, self.pad))
        return self._fast_cache[1]

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """The input's h x w lowest frequencies [B, c_in, h, w] in FFT order (partial DFTs)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels or tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(f"folded model: expected images [B, {self.in_channels}, {self.input_size}, {self.input_size}], got {tuple(x.shape)}")
        fast = self._fast()
        if x.is_complex():
            return fast.rows @ x.to(fast.rows.dtype) @ fast.cols
        return fast.real_spectrum(x.to(fast.rows_real.dtype))

    def field(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, c_in, N, N] -> complex output field [B, c_out, h, w] (same as the layer-by-layer frontend)."""
        return torch.fft.ifft2(self._fast().mix(self.spectrum(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Detector output [B, C, h, w]."""
        return self._detect(self.field(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> detector output (``features``)."""
        return self.features(x)


class FoldedSCLC(FoldedFrontend):
    """One-pass SCLC: a ``FoldedFrontend`` plus the student's electronic ``backend`` (``Backend``).

    Calling it gives the logits; ``save`` / ``load`` write and read the file format of the
    module docstring. Fold a float64 student for float64.
    """

    def __init__(self, kernel: torch.Tensor, pad: int, input_size: int, detector: str, backend: Backend) -> None:
        super().__init__(kernel, pad, input_size, detector)
        self.backend = backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> logits."""
        return self.backend(self.features(x))

    def meta(self) -> dict:
        """The JSON metadata written by ``save``."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "input_size": self.input_size,
            "pad": self.pad,
            "offset": self.offset,
            "out_size": list(self.out_size),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "detector": self.detector,
            "frequency_order": "centred",
            "backend": self.backend.config(),
        }

    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` archive described in the module docstring to exactly ``path``."""
        path = Path(path)
        arrays = {"kernel": self.kernel.detach().cpu().numpy(), "meta": np.frombuffer(json.dumps(self.meta()).encode(), dtype=np.uint8)}
        for name, tensor in self.backend.state_dict().items():
            arrays[f"backend.{name}"] = tensor.detach().cpu().numpy()
        return save_npz(path, arrays)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str | None = None) -> FoldedSCLC:
        """Read a file written by ``save`` (no pickle); raises FoldedFileError naming what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"folded model {path}: no such file; write one with FoldedSCLC.save (osclc fold)")
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise FoldedFileError(f"folded model {path}: not a readable .npz archive ({exc}); re-export it with FoldedSCLC.save") from exc
        for key in ("kernel", "meta"):
            if key not in arrays:
                raise FoldedFileError(f"folded model {path}: array {key!r} is missing; re-export it with FoldedSCLC.save")
        try:
            meta = json.loads(arrays["meta"].tobytes().decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FoldedFileError(f"folded model {path}: 'meta' is not JSON ({exc})") from exc
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise FoldedFileError(f"folded model {path}: format {meta.get('format')!r} version {meta.get('version')!r}, expected {FORMAT!r} version {VERSION}")
        kernel = arrays["kernel"]
        if not np.iscomplexobj(kernel) or kernel.ndim != 4:
            raise FoldedFileError(f"folded model {path}: 'kernel' must be a complex 4-D array, got {kernel.dtype} {kernel.shape}")
        expected = (meta["in_channels"], meta["out_channels"], *meta["out_size"])
        if tuple(kernel.shape) != tuple(expected):
            raise FoldedFileError(f"folded model {path}: 'kernel' has shape {kernel.shape}, the metadata says {expected}")
        try:
            backend = Backend(**meta["backend"])
            state = {name[len("backend."):]: torch.from_numpy(array) for name, array in arrays.items() if name.startswith("backend.")}
            backend.load_state_dict(state)
            folded = cls(torch.from_numpy(kernel), int(meta["pad"]), int(meta["input_size"]), str(meta["detector"]), backend)
        except (KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise FoldedFileError(f"folded model {path}: inconsistent contents ({exc}); re-export it with FoldedSCLC.save") from exc
        real = torch.float64 if kernel.dtype == np.complex128 else torch.float32
        folded.backend.to(real)
        return folded.to(device) if device is not None else folded


@torch.no_grad()
def fold_kernel(frontend: SpectralFrontend, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """``K_eff[c_in, c_out, h, w]`` (complex, centred order) of a spectral frontend of any depth.

    ``dtype`` / ``device``: the real precision and device of the result (default: those of the
    frontend's parameters; float32 on the CPU for a frontend without any).
    """
    if not isinstance(frontend, SpectralFrontend):
        raise ValueError(f"fold: {type(frontend).__name__} is not a SpectralFrontend; "
                         "only spectral convolutions and pools on one zero-padded grid fold into one pass")
    reference = next(iter(frontend.parameters()), torch.empty(0))
    cdtype = complex_dtype(dtype if dtype is not None else reference.dtype)
    height = frontend.out_size
    freqs = centred_frequencies(height)
    eye = torch.eye(frontend.in_channels, dtype=cdtype, device=device if device is not None else reference.device)
    kernel = eye.expand(height, height, -1, -1)  # frequency-major [h, w, c_in, c]
    grid = frontend.pad
    for layer in frontend.layers:
        if isinstance(layer, SpectralConv2d):
            kernel = kernel @ layer.response(grid, freqs, freqs).to(kernel.device, cdtype)
        elif isinstance(layer, SpectralPool2d):
            mask = layer.mask_at(freqs, freqs)
            if mask is not None:
                kernel = kernel * mask.to(kernel.device)[:, :, None, None]
            grid = layer.out_size
    return kernel.permute(2, 3, 0, 1).contiguous()


def fold_frontend(frontend: SpectralFrontend, detector: DetectorMode) -> FoldedFrontend:
    """The exact one-pass equivalent of ``detector(frontend(x))``, without a backend."""
    return FoldedFrontend(fold_kernel(frontend), frontend.pad, frontend.input_size, detector)


def fold(student: nn.Module) -> FoldedSCLC:
    """The exact one-pass equivalent of an SCLC with a spectral frontend (any depth), with a copy of its backend;
    ValueError for any other model (a teacher, a max-pool student)."""
    frontend = getattr(student, "frontend", None)
    if not isinstance(student, SCLC) or not isinstance(frontend, SpectralFrontend):
        kind = type(frontend).__name__ if frontend is not None else type(student).__name__
        raise ValueError(f"fold: only SCLC students with a spectral frontend fold into one pass, got {kind}; "
                         "use variant 'sclc' (or 'backend_only'), not 'sclc_maxpool' or a teacher")
    reference = next(iter(student.parameters()))
    kernel = fold_kernel(frontend, reference.dtype, reference.device)
    return FoldedSCLC(kernel, frontend.pad, frontend.input_size, student.detector.mode, copy.deepcopy(student.backend))
