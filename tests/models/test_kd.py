"""KD loss (paper eq. 8) against a hand computation with plain math."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from osclc.models.training.kd import kd_loss

STUDENT = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
TEACHER = [[2.0, 1.0, 0.0], [0.5, 0.5, 2.0]]
LABELS = [1, 2]


def _softmax(values: list[float], temperature: float) -> list[float]:
    exps = [math.exp(v / temperature) for v in values]
    return [e / sum(exps) for e in exps]


def _by_hand(student: list[list[float]], teacher: list[list[float]], labels: list[int], alpha: float, temperature: float, t_squared: bool) -> float:
    total = 0.0
    for s, t, y in zip(student, teacher, labels):
        ce = -math.log(_softmax(s, 1.0)[y])
        p_t, p_s = _softmax(t, temperature), _softmax(s, temperature)
        kl = sum(pt * math.log(pt / ps) for pt, ps in zip(p_t, p_s))
        total += alpha * ce + (1 - alpha) * (temperature**2 if t_squared else 1.0) * kl
    return total / len(labels)


@pytest.mark.parametrize("t_squared", [True, False])
@pytest.mark.parametrize("alpha,temperature", [(0.3, 2.0), (0.7, 4.0), (0.0, 1.0)])
def test_kd_loss_matches_hand_computation(alpha: float, temperature: float, t_squared: bool) -> None:
    got = kd_loss(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(LABELS), alpha, temperature, t_squared)
    assert got.item() == pytest.approx(_by_hand(STUDENT, TEACHER, LABELS, alpha, temperature, t_squared), rel=1e-6)


def test_fixed_number() -> None:
    """alpha = 0.5, T = 2, T^2 on: the value computed once by hand for these logits."""
    expected = _by_hand(STUDENT, TEACHER, LABELS, 0.5, 2.0, True)
    assert expected == pytest.approx(0.364214, abs=1e-6)
    got = kd_loss(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(LABELS), 0.5, 2.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_pixels_are_averaged_and_ignored_pixels_dropped() -> None:
    """Segmentation: [B=1, K=3, 2 pixels]; the second pixel carries ignore_index 255."""
    student = torch.tensor(STUDENT).T[None]  # [1, 3, 2]
    teacher = torch.tensor(TEACHER).T[None]
    labels = torch.tensor([[1, 2]])
    both = kd_loss(student, teacher, labels, 0.3, 2.0)
    assert both.item() == pytest.approx(_by_hand(STUDENT, TEACHER, LABELS, 0.3, 2.0, True), rel=1e-6)
    one = kd_loss(student, teacher, torch.tensor([[1, 255]]), 0.3, 2.0, ignore_index=255)
    assert one.item() == pytest.approx(_by_hand(STUDENT[:1], TEACHER[:1], LABELS[:1], 0.3, 2.0, True), rel=1e-6)
    none = kd_loss(student, teacher, torch.tensor([[255, 255]]), 0.3, 2.0, ignore_index=255)
    assert none.item() == 0.0


def test_alpha_one_is_cross_entropy_and_teacher_gets_no_gradient() -> None:
    student = torch.tensor(STUDENT, requires_grad=True)
    teacher = torch.tensor(TEACHER, requires_grad=True)
    loss = kd_loss(student, teacher, torch.tensor(LABELS), 1.0, 3.0)
    assert loss.item() == pytest.approx(F.cross_entropy(torch.tensor(STUDENT), torch.tensor(LABELS)).item(), rel=1e-6)
    kd_loss(student, teacher, torch.tensor(LABELS), 0.2, 3.0).backward()
    assert teacher.grad is None and student.grad is not None


@pytest.mark.parametrize("alpha,temperature,match", [(1.5, 2.0, "alpha"), (0.5, 0.0, "temperature")])
def test_bad_parameters_are_refused(alpha: float, temperature: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        kd_loss(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(LABELS), alpha, temperature)
