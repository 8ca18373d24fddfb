"""Training-time data augmentation: random integer shifts of the training images.

``random_shift(x, s)`` moves every image of a batch by its own ``(dy, dx)``, each drawn
uniformly from ``-s .. s`` pixels, filling the uncovered border with 0 (dark: no light through
the input modulator). Shifts of +-1 pixel are the standard augmentation for small digit images
(the digit's position in its box varies by about that much between writers). The draws come
from the global torch RNG, which the training loop re-seeds at the start of every epoch, so a
resumed run draws the same shifts as an uninterrupted one. Only training batches are shifted;
validation and test images are used as they are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """``x`` ``[B, C, H, W]`` with image b moved by random integer ``(dy_b, dx_b)`` in ``[-max_shift, max_shift]`` pixels."""
    if max_shift < 0:
        raise ValueError(f"max_shift={max_shift}: must be >= 0 pixels")
    if max_shift == 0 or x.numel() == 0:
        return x
    n, _, h, w = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s))  # zero border of s pixels
    dy = torch.randint(0, 2 * s + 1, (n,)).to(x.device)
    dx = torch.randint(0, 2 * s + 1, (n,)).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)  # [B, H] rows of the padded image to read
    cols = dx[:, None] + torch.arange(w, device=x.device)  # [B, W]
    batch = torch.arange(n, device=x.device)[:, None, None]
    moved = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
    return moved.permute(0, 3, 1, 2).contiguous()
