"""The numbers the calculus lecture shows and reuses."""

import math

import numpy as np
import pytest
import torch

from calcgrad.calculus import (
    central_difference,
    difference_quotient,
    numerical_gradient,
    numerical_limit,
    quotient_table,
    shrinking_steps,
)


def f(x):
    return 3 * x**2 - 4 * x


def test_quotient_table_closes_in_on_two():
    table = quotient_table(f, 1.0, [0.1, 0.01, 0.001])
    assert [h for h, _ in table] == [0.1, 0.01, 0.001]
    assert [q for _, q in table] == pytest.approx([2.3, 2.03, 2.003], abs=1e-9)
    assert all(isinstance(q, float) for _, q in table)


def test_quotient_table_defaults_and_central_method():
    table = quotient_table(f, 1.0)
    assert [h for h, _ in table] == pytest.approx([1e-1, 1e-2, 1e-3, 1e-4, 1e-5])
    errors = [abs(q - 2) for _, q in table]
    assert errors == sorted(errors, reverse=True)
    # f is quadratic, so the central quotient is exact up to round-off
    assert [q for _, q in quotient_table(f, 1.0, method="central")] == pytest.approx(
        [2.0] * 5, abs=1e-8)


def test_quotient_table_rejects_unknown_method():
    with pytest.raises(ValueError, match="forward"):
        quotient_table(f, 1.0, method="backward")


def test_shrinking_steps():
    assert shrinking_steps(0.1, 10, 3) == pytest.approx([0.1, 0.01, 0.001])
    assert shrinking_steps(1.0, 2, 4) == [1.0, 0.5, 0.25, 0.125]
    with pytest.raises(ValueError):
        shrinking_steps(steps=0)


def test_numerical_limit():
    assert numerical_limit(f, 1.0) == pytest.approx(2.0, abs=1e-4)
    assert numerical_limit(math.sin, 0.0) == pytest.approx(1.0, abs=1e-6)
    assert numerical_limit(f, 1.0, h0=1.0, factor=2, steps=1) == pytest.approx(5.0)


def test_forward_and_central_differences_match_the_formulas():
    assert difference_quotient(f, 1.0, 1.0) == pytest.approx((f(2.0) - f(1.0)) / 1.0)
    assert central_difference(f, 1.0, 0.5) == pytest.approx((f(1.5) - f(0.5)) / 1.0)


def test_central_difference_is_more_accurate_than_forward():
    for h in (1e-1, 1e-2, 1e-3):
        forward_error = abs(difference_quotient(math.exp, 1.0, h) - math.e)
        central_error = abs(central_difference(math.exp, 1.0, h) - math.e)
        assert central_error < forward_error / 10
    # forward error ~ h, central error ~ h**2
    assert abs(difference_quotient(lambda x: x**3, 1.0, 1e-3) - 3) == pytest.approx(3e-3, rel=0.01)
    assert abs(central_difference(lambda x: x**3, 1.0, 1e-3) - 3) == pytest.approx(1e-6, rel=0.01)


def test_float32_round_off_at_tiny_h_but_not_float64():
    x32 = torch.tensor(1.0, dtype=torch.float32)
    x64 = torch.tensor(1.0, dtype=torch.float64)
    q32 = difference_quotient(f, x32, 1e-6)
    q64 = difference_quotient(f, x64, 1e-6)
    assert q32.dtype == torch.float32 and q64.dtype == torch.float64
    assert abs(q32.item() - 2) > 1e-2  # 7 digits are not enough
    assert abs(q64.item() - 2) < 1e-5
    # at a moderate h float32 is fine: round-off is the problem, not the formula
    assert abs(difference_quotient(f, x32, 1e-2).item() - 2.03) < 1e-4


def test_quotient_table_keeps_the_callers_precision():
    x32 = torch.tensor(1.0, dtype=torch.float32)
    _, q32 = quotient_table(f, x32, [1e-6])[0]
    _, q64 = quotient_table(f, 1.0, [1e-6])[0]
    assert abs(q32 - 2) > 1e-2
    assert abs(q64 - 2) < 1e-5


def test_numerical_gradient_of_sum_of_squares_for_tensor_input():
    x = torch.arange(4.0, requires_grad=True)
    grad = numerical_gradient(lambda v: (v**2).sum(), x)
    assert isinstance(grad, torch.Tensor)
    assert grad.dtype == torch.float64 and grad.shape == x.shape
    torch.testing.assert_close(grad, 2 * x.detach().double(), atol=1e-6, rtol=0)
    assert x.grad is None  # x itself untouched
    torch.testing.assert_close(x.detach(), torch.arange(4.0))


def test_numerical_gradient_matches_autograd():
    torch.manual_seed(0)
    x = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)

    def g(v):
        return (torch.sin(v) * v).sum() + (v[0] @ v[1]) ** 2

    g(x).backward()
    torch.testing.assert_close(numerical_gradient(g, x), x.grad, atol=1e-6, rtol=1e-6)


def test_numerical_gradient_for_lists_arrays_and_numbers():
    grad = numerical_gradient(lambda v: v[0] * v[1] + 3 * v[1], [2, 5])
    assert isinstance(grad, np.ndarray) and grad.dtype == np.float64
    np.testing.assert_allclose(grad, [5.0, 5.0], atol=1e-6)
    matrix = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    grad = numerical_gradient(lambda m: np.sum(m**3), matrix)
    assert grad.shape == (2, 2) and grad.dtype == np.float64
    np.testing.assert_allclose(grad, 3 * matrix.astype(np.float64) ** 2, rtol=1e-6)
    np.testing.assert_array_equal(matrix, [[1.0, 2.0], [3.0, 4.0]])  # input untouched
    assert numerical_gradient(f, 1.0) == pytest.approx(2.0, abs=1e-6)


def test_numerical_gradient_rejects_non_scalar_functions():
    with pytest.raises(ValueError, match="single number"):
        numerical_gradient(lambda v: v * 2, np.ones(3))
