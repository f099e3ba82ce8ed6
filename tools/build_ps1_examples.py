"""Write examples/ps1_calculus/: sample submissions made from release/ps1_calculus (maintainers
only; run after `make release`, then check expected.json with tests/test_pipeline.py).

The students keep their characters: alice is perfect, bob makes one slip, carol stops after
Exercise 6, dave makes common mistakes (and takes one shortcut), erin's file is truncated JSON.
Their answers are the reference solutions of tools/build_ps1.py with some text swapped; where
an exercise has per-student variants (issue 14), each answers their own variant
(tools/ps1_models.py), as a student who sees only their own function writes it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calcgrad import variants  # noqa: E402
from tools import ps1_models as models  # noqa: E402
from tools.build_ps1 import SOL  # noqa: E402

RELEASE = ROOT / "release" / "ps1_calculus" / "ps1_calculus.ipynb"
EXAMPLES = ROOT / "examples" / "ps1_calculus"

WRITTEN = {
    "ex1e_proof_answer":
        "Power rule: (x+h)^n = x^n + n x^(n-1) h + (terms with h^2 and more), so the quotient is "
        "n x^(n-1) + h (...) and the second part goes to 0.\n\n"
        "e^x: e^(x+h) - e^x = e^x (e^h - 1), so the quotient is e^x (e^h - 1)/h, and (e^h - 1)/h "
        "goes to 1 as h goes to 0. So the derivative is e^x.\n\n"
        "log x: log(x+h) - log x = log(1 + h/x). With t = h/x the quotient is (1/x) log(1+t)/t, "
        "which goes to 1/x.",
    "ex2_proofs_answer":
        "Sum: the quotient splits into the quotients of f and g, and the limits add.\n\n"
        "Product: f(x+h)g(x+h) - f(x)g(x) = (f(x+h) - f(x)) g(x+h) + f(x) (g(x+h) - g(x)). "
        "Divide by h: the first part goes to f'(x) g(x) because g is continuous, the second to "
        "f(x) g'(x).\n\n"
        "Quotient: f(x+h)/g(x+h) - f(x)/g(x) = (f(x+h) g(x) - f(x) g(x+h)) / (g(x+h) g(x)); add "
        "and subtract f(x)g(x) on top, divide by h, and the limit is (f'g - fg')/g^2.",
    "ex3_special_case_answer":
        "c f(x) is the product of g(x) = c and f(x). The product rule gives g' f + g f' = "
        "0 * f + c f' = c f', because a constant has derivative 0.",
    "ex5_meaning_answer":
        "f'(x) = 0 means the tangent is horizontal there. It does not have to be a max or a min: "
        "x^3 at 0 has slope 0 but keeps increasing.",
    "ex8_zero_answer":
        "At x = 0 the formula x/||x|| is 0/0. The norm looks like a cone there, with a sharp "
        "tip, so it has no gradient. Returning 0 is like PyTorch and it is a subgradient.",
    "ex10_derivation_answer":
        "Chain rule on f^-1(f(x)) = x: (f^-1)'(f(x)) f'(x) = 1, so (f^-1)'(y) = "
        "1 / f'(f^-1(y)).",
}


def _answer(solution: str) -> str:
    """The reference solution as a student writes it (without nbgrader's markers)."""
    lines = [line for line in solution.strip("\n").splitlines()
             if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines)


def _edited(grade_id: str, *swaps: tuple[str, str]) -> str:
    src = _answer(SOL[grade_id])
    for old, new in swaps:
        assert old in src, f"{grade_id} no longer contains {old!r}"
        src = src.replace(old, new)
    return src


VARIANT_CELLS = {"ex6": ("ex6_tangent_solution", "def df6(x):\n"),
                 "ex7": ("ex7_gradient_solution", "def grad_f7(x):\n"),
                 "ex9": ("ex9_chain_solution", "def chain_rule_ex9(a, b):\n"),
                 "ex10": ("ex10_inverse_solution", "def d_f10_inverse(y):\n")}
EXERCISES = ("ex5", "ex6", "ex7", "ex9", "ex10")


def own_answers(numbers: dict[str, int]) -> dict[str, str]:
    """Every solution cell as a student writes it whose variants are `numbers` (exercise ->
    variant): their own function's answer, without the reference's dispatch."""
    answers = {gid: _answer(src) for gid, src in SOL.items()}
    answers["ex5_flat_solution"] = models.EX5[numbers["ex5"]]
    for name, (gid, head) in VARIANT_CELLS.items():
        own = head + models.indented(name, numbers[name])
        rest = answers[gid].split("\n\n\ndef ", 1)  # Exercise 6's cell also holds tangent_line
        answers[gid] = own + ("\n\n\ndef " + rest[1] if len(rest) == 2 else "")
    return answers


def numbers_of(student: str) -> dict[str, int]:
    return {name: variants.number("ps1_calculus", name, student) for name in EXERCISES}


def _student(answers: dict[str, str | None], written: dict[str, str | None]) -> nbformat.NotebookNode:
    """The release with the given solution cells filled in (None: left as released)."""
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers and answers[gid] is not None:
            cell.source = answers[gid]
        if gid in written and written[gid] is not None:
            cell.source = written[gid]
    return nb


def students() -> dict[str, nbformat.NotebookNode]:
    own = {name: own_answers(numbers_of(name)) for name in ("alice", "bob", "carol", "dave")}
    perfect = own["alice"]
    bob = dict(own["bob"], ex2_rules_solution=_edited(
        "ex2_rules_solution", ("(df(x) * g(x) - f(x) * dg(x)) / g(x) ** 2",
                               "(f(x) * dg(x) - df(x) * g(x)) / g(x) ** 2")))
    carol = {gid: src for gid, src in own["carol"].items()
             if gid.split("_")[0] in ("ex1a", "ex1", "ex1c", "ex1d", "ex2", "ex3", "ex4", "ex5",
                                      "ex6")}
    dave = dict(own["dave"])
    df6 = models.EX6[numbers_of("dave")["ex6"]]
    dave.update({
        "ex1d_log_solution": _edited("ex1d_log_solution", ("1 / x", "1 / (x * math.log(10))")),
        "ex4_x_to_the_x_solution": _edited("ex4_x_to_the_x_solution",
                                           ("x**x * (torch.log(x) + 1)", "x * x ** (x - 1)")),
        "ex6_tangent_solution": dave["ex6_tangent_solution"].replace(
            df6, "h = 1e-5\n    return (f6(x + h) - f6(x - h)) / (2 * h)").replace(
            "f(x0) - slope * x0", "f(x0)"),
        "ex6_plot_solution": _edited("ex6_plot_solution",
                                     ("torch.linspace(0.25, 2.0, 100",
                                      "torch.linspace(-2.0, 2.0, 100")),
        "ex8_norm_solution": _edited("ex8_norm_solution",
                                     ("    if norm == 0:\n        return torch.zeros_like(x)\n", ""),
                                     ("return x / norm", "return 2 * x")),
        "ex11_step_solution": _edited("ex11_step_solution", ("h = 1e-5\n", "h = 1e-3\n"),
                                      ("(f(x + h) - f(x - h)) / (2 * h)", "(f(x + h) - f(x)) / h")),
    })
    assert "(2 * h)" in dave["ex6_tangent_solution"] and "return slope, f(x0)\n" in \
        dave["ex6_tangent_solution"] + "\n"
    carol_written = {k: v for k, v in WRITTEN.items()
                     if k in ("ex1e_proof_answer", "ex2_proofs_answer", "ex5_meaning_answer")}
    return {
        "alice": _student(perfect, WRITTEN),
        "bob": _student(bob, dict(WRITTEN, ex10_derivation_answer=None, ex2_proofs_answer=None)),
        "carol": _student(carol, carol_written),
        "dave": _student(dave, dict(WRITTEN, ex1e_proof_answer=None, ex8_zero_answer=None,
                                    ex10_derivation_answer=None, ex5_meaning_answer=None)),
    }


EXPECTED = {
    "alice": {"score": 31, "note": "every exercise right; written answers filled in "
                                   "(graded by hand, 0 at autograde)"},
    "bob": {"score": 29, "note": "complete, one slip: the quotient rule's numerator has the "
                                 "opposite sign (ex2_quotient_tests, -2)"},
    "carol": {"score": 18, "note": "partial: exercises 1-6 done, 7-11 untouched"},
    "dave": {"score": 19, "note": "common mistakes: derivative of log10 (-1), power rule on x**x "
                                  "(-2), df6 by a central difference where 'by hand' is asked "
                                  "(-1), intercept f(x0) (-1), plot range through x = 0 (-2), "
                                  "gradient of ||x||**2 (-2), forward difference with h = 1e-3 "
                                  "(-3)"},
}


def main() -> None:
    for name, nb in students().items():
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{i:03d}"
        nbformat.write(nb, str(EXAMPLES / f"{name}.ipynb"))
    # erin: a submission cut off mid-file (the demo's corrupt sample)
    text = (EXAMPLES / "alice.ipynb").read_text()
    (EXAMPLES / "erin.ipynb").write_text(text[:700])
    lines = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                       for k, v in EXPECTED.items())
    (EXAMPLES / "expected.json").write_text("{\n" + lines + "\n}\n")
    print(f"wrote {EXAMPLES.relative_to(ROOT)}: {', '.join(EXPECTED)} and erin")


if __name__ == "__main__":
    main()
