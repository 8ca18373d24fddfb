"""Knowledge-distillation loss (paper eq. 8).

``loss = alpha * CE(labels, s) + (1 - alpha) * c * KL(softmax(t / T) || softmax(s / T))``

with ``s``/``t`` the student/teacher logits (class dim 1, any trailing pixel dims), KL summed
over classes and averaged over samples and pixels (like the cross-entropy), and
``c = T**2`` when ``t_squared`` (default, Hinton et al. 2015: keeps the soft-target gradients
at the same scale as the hard-label ones when T changes) or ``c = 1`` (eq. 8 literally).
The teacher logits are detached (the teacher is trained first and frozen).
``ignore_index`` drops samples/pixels with that label from both terms (segmentation borders).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    alpha: float,
    temperature: float,
    t_squared: bool = True,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Scalar KD loss; logits [B, K, ...], labels [B, ...] int64 (see module docstring)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"kd alpha={alpha}: must be in [0, 1] (1 = labels only, 0 = teacher only)")
    if not temperature > 0:
        raise ValueError(f"kd temperature={temperature}: must be > 0")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"kd: student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} differ")
    if labels.shape != student_logits.shape[:1] + student_logits.shape[2:]:
        raise ValueError(f"kd: labels {tuple(labels.shape)} do not match logits {tuple(student_logits.shape)} without the class dim")
    log_student = F.log_softmax(student_logits / temperature, dim=1)
    log_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum(dim=1)  # [B, ...]
    if ignore_index is None:
        keep = torch.ones_like(kl)
    else:
        ignored = labels == ignore_index
        keep = (~ignored).to(kl.dtype)
        labels = labels.masked_fill(ignored, 0)  # any valid class; those terms are masked out
    ce = F.cross_entropy(student_logits, labels, reduction="none")
    count = keep.sum()
    if count == 0:
        return (student_logits * 0).sum()
    scale = temperature**2 if t_squared else 1.0
    return (alpha * (ce * keep).sum() + (1 - alpha) * scale * (kl * keep).sum()) / count
