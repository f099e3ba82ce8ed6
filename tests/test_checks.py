"""calcgrad.checks, calcgrad.plain and calcgrad.verdicts: messages and the split."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from calcgrad import checks, plain
from calcgrad.checks import Check, CheckFailed, judge


def fails(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    return str(info.value)


X = checks.points(seed=3, n=5, low=0.5, high=3.0)


def test_passing_check_prints_a_tick(capsys):
    checks.close("d/dx x**3", student=lambda: 3 * X**2, expected=lambda: 3 * X**2)
    assert capsys.readouterr().out.strip() == "\u2714 d/dx x**3"


def test_check_failed_is_an_assertion_error_with_the_name():
    msg = fails(checks.close, "slope", student=lambda: 1.0, expected=lambda: 2.0)
    assert issubclass(CheckFailed, AssertionError)
    assert msg.startswith("slope:") and "got 1" in msg and "expected 2" in msg


@pytest.mark.parametrize("student, phrase", [
    (lambda: 6 * X**2, "x.grad.zero_()"),
    (lambda: -3 * X**2, "sign error"),
    (lambda: 1.5 * X**2, "half the expected"),
    (lambda: torch.zeros(5, dtype=torch.float64), "all zero"),
    (lambda: None, "is None"),
    (lambda: torch.ones(3), "shape (3,), expected (5,)"),
    (lambda: torch.full((5,), math.nan), "NaN"),
    (lambda: "three x squared", "expected a tensor"),
    (lambda: object(), "not plain data"),
])
def test_known_mistakes_are_named(student, phrase):
    msg = fails(checks.close, "grad", student=student, expected=lambda: 3 * X**2)
    assert phrase in msg


def test_first_differing_element_is_reported():
    want = torch.tensor([1.0, 2.0, 3.0])
    msg = fails(checks.close, "v", student=lambda: torch.tensor([1.0, 2.5, 3.0]),
                expected=lambda: want)
    assert "at index 1" in msg and "got 2.5" in msg and "expected 2" in msg
    assert "1 of 3 values differ" in msg


def test_student_errors_are_explained():
    def not_done():
        raise NotImplementedError()

    assert "not done yet" in fails(checks.close, "e", student=not_done, expected=lambda: 1.0)
    msg = fails(checks.close, "e", student=lambda: torch.ones(3, requires_grad=True).mul(2)
                .backward(), expected=lambda: 1.0)
    assert "gradient=" in msg and "y.sum().backward()" in msg


def test_wrong_answers_name_the_mistake():
    msg = fails(checks.close, "d_power", student=lambda: X**3, expected=lambda: 3 * X**2,
                wrong={"you returned x**3 itself": lambda: X**3})
    assert "you returned x**3 itself" in msg


def test_tolerance_is_respected():
    checks.close("close enough", student=lambda: 1.0 + 1e-9, expected=lambda: 1.0)
    fails(checks.close, "too far", student=lambda: 1.001, expected=lambda: 1.0, rtol=1e-6)


def test_dtype_and_tensor_requirements():
    x64 = torch.ones(2, dtype=torch.float64)
    assert "dtype torch.float32" in fails(checks.close, "d", student=lambda: torch.ones(2),
                                          expected=lambda: x64, dtype=True)
    assert "expected a torch tensor" in fails(checks.close, "t", student=lambda: [1.0, 1.0],
                                              expected=lambda: x64, tensor=True)
    checks.close("list is fine", student=lambda: [1.0, 1.0], expected=lambda: x64)


def test_equal_and_holds():
    checks.equal("mode", student=lambda: "reverse", expected="reverse")
    assert "forward" in fails(checks.equal, "mode", student=lambda: "forward",
                              expected="reverse")
    checks.holds("positive", student=lambda: 3.0, predicate=lambda v: v > 0, message="not > 0")
    assert "not > 0" in fails(checks.holds, "positive", student=lambda: -1.0,
                              predicate=lambda v: v > 0, message="not > 0")
    assert "custom" in fails(checks.holds, "p", student=lambda: 1.0,
                             predicate=lambda v: "custom reason", message="m")


def test_warnings_from_student_code_do_not_reach_stderr(capsys):
    import warnings

    def noisy():
        warnings.warn("a torch-like UserWarning")
        return 1.0

    checks.close("quiet", student=noisy, expected=lambda: 1.0)
    assert capsys.readouterr().err == ""


class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def test_odd_eq_objects_do_not_fool_the_comparison():
    fails(checks.close, "eq", student=lambda: AlwaysEqual(5.0), expected=lambda: 1.0)
    fails(checks.equal, "eq", student=lambda: AlwaysEqual(5.0), expected=1.0)


def test_plain_round_trip_is_json_and_keeps_tensor_facts():
    t = torch.arange(6.0).reshape(2, 3).requires_grad_()
    encoded = plain.encode({"t": t * 2, "n": 3, "s": "x", "l": [1.5, None, True]})
    decoded = plain.decode(json.loads(json.dumps(encoded)))
    arr = decoded["t"]
    assert isinstance(arr, plain.Array) and arr.origin == "torch"
    assert arr.dtype == "torch.float32" and arr.requires_grad and not arr.is_leaf
    np.testing.assert_array_equal(arr.data, (np.arange(6.0) * 2).reshape(2, 3))
    assert decoded["n"] == 3 and decoded["s"] == "x" and decoded["l"] == [1.5, None, True]


def test_plain_is_size_capped():
    big = plain.encode(torch.zeros(plain.MAX_ARRAY_BYTES))  # float32: 4 bytes each
    assert big["kind"] == "opaque" and big["reason"] == "too large"
    assert len(plain.encode("x" * 10**6)["value"]) == plain.MAX_TEXT
    deep: list = []
    for _ in range(20):
        deep = [deep]
    assert "nested too deeply" in json.dumps(plain.encode(deep))


def test_plain_rejects_malformed_data():
    with pytest.raises(ValueError):
        plain.decode({"kind": "array", "npdtype": "|O", "shape": [1], "data": ""})
    with pytest.raises(ValueError):
        plain.decode({"kind": "array", "npdtype": "<f8", "shape": [3], "data": "AAAA"})
    with pytest.raises(ValueError):
        plain.decode({"kind": "pickle", "data": "..."})


def test_judge_never_calls_the_student_half():
    """The trusted side decides from recorded plain data alone."""
    def student():
        raise AssertionError("the trusted process must not run student code")

    check = Check("close", "g", student, expected=lambda: torch.tensor([2.0, 4.0]))
    recorded = json.loads(json.dumps(plain.capture(lambda: [2.0, 4.0])))
    assert judge(check, plain.decode(recorded)).passed
    bad = plain.decode(plain.capture(lambda: [4.0, 8.0]))
    verdict = judge(check, bad)
    assert not verdict.passed and "twice" in verdict.message


def test_use_runner_swaps_what_a_check_does():
    seen = []

    class Recorder:
        def run(self, check):
            seen.append((check.name, plain.capture(check.student)))

    previous = checks.use_runner(Recorder())
    try:
        checks.close("r", student=lambda: 1.0, expected=None)
    finally:
        checks.use_runner(previous)
    assert seen == [("r", {"kind": "number", "value": 1.0})]


def test_figure_data_reads_lines_and_legend():
    import matplotlib.pyplot as plt

    from calcgrad import plotting

    ax = plotting.plot(np.array([0.0, 1.0]), [np.array([0.0, 1.0]), np.array([1.0, 0.0])],
                       legend=["up", "down"], xlabel="x")
    data = plain.decode(plain.encode(checks.figure_data(ax)))
    plt.close("all")
    assert data["legend"] == ["up", "down"] and data["xlabel"] == "x"
    assert [line["label"] for line in data["lines"]] == ["up", "down"]
    np.testing.assert_array_equal(data["lines"][1]["y"].data, [1.0, 0.0])
