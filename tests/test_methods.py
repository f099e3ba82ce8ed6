"""`checks.method`: how a student's function is written, read from the notebook's text.

Unit cases for `calcgrad.methods` (what counts as using a technique, what cannot be
verified), `checks.digest`, and one end-to-end case: a function that uses autograd where the
exercise rules it out, disguised with a `__wrapped__` decoy and a patched `inspect.getsource`,
loses the method point under `calcgrad autograde` (the trusted process reads the submitted
notebook) and under plain nbgrader (the kernel's input history), while honest code keeps it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from calcgrad import checks, course, methods

sys.path.insert(0, str(course.REPO))
from tools import nbauthor

SETUP = "import torch\nfrom calcgrad import checks, plotting"
BY_HAND = checks.BY_HAND


def verdict(function: str, *cells: str, forbid=(), require=()) -> methods.Judgement:
    return methods.judge("check", function, [SETUP, *cells], forbid=forbid, require=require)


HONEST = [
    "def d_power(x, n):\n    return n * x ** (n - 1)",
    "def d_power(x, n):\n    return n * torch.pow(x, n - 1)",
    # names are never judged: a variable called grad (or backward) is fine
    "def d_power(x, n):\n    grad = n * x ** (n - 1)\n    backward = grad\n    return backward",
    "def helper(x, n):\n    return x ** (n - 1)\n\ndef d_power(x, n):\n    return n * helper(x, n)",
    "%matplotlib inline\ndef d_power(x, n):\n    return n * x**n / x",
    "import math\nd_power = lambda x, n: n * x ** (n - 1)",
]

SHORTCUTS = [
    ("autograd", "def d_power(x, n):\n    x = x.clone().requires_grad_(True)\n"
                 "    (x ** n).sum().backward()\n    return x.grad"),
    ("autograd", "from torch.autograd import grad as g\n\ndef d_power(x, n):\n"
                 "    x = x.clone().requires_grad_(True)\n    return g((x ** n).sum(), x)[0]"),
    ("autograd", "import torch.autograd as ag\nhelp = ag.grad\n\ndef d_power(x, n):\n"
                 "    return help(x, n)"),
    ("autograd", "class Trick:\n    def run(self, y):\n        y.backward()\n\n"
                 "def d_power(x, n):\n    return Trick().run(x)"),
    ("autograd", "def wrap(f):\n    return lambda x, n: torch.func.grad(f)(x)\n\n"
                 "@wrap\ndef d_power(x, n):\n    return n * x ** (n - 1)"),
    ("autograd", "def d_power(x, n, _g=torch.autograd.grad):\n    return _g(x, n)"),
    ("symbolic", "def d_power(x, n):\n    import sympy\n    t = sympy.Symbol('t')\n"
                 "    return sympy.lambdify(t, sympy.diff(t**n, t))(x)"),
    ("numeric", "import numpy as np\ndef d_power(x, n):\n    return np.gradient(x ** n, x)"),
    ("numeric", "def d_power(x, n):\n    h = 1e-20\n    return ((x + h * 1j) ** n).imag / h"),
    ("numeric", "def d_power(x, n):\n    z = torch.complex(x, torch.full_like(x, 1e-20))\n"
                "    return torch.view_as_real(z ** n)[..., 1] / 1e-20"),
    ("calcgrad", "from calcgrad import calculus\ndef d_power(x, n):\n"
                 "    return calculus.limit(lambda h: ((x + h)**n - x**n) / h)"),
]

UNVERIFIABLE = [
    "def d_power(x, n):\n    return getattr(x, 'back' + 'ward')()",
    "def d_power(x, n):\n    return eval('n * x ** (n - 1)')",
    "def d_power(x, n):\n    return n * x ** (n - 1)\n\nexec('def d_power(x, n): return 0')",
    "def d_power(x, n):\n    return n * x ** (n - 1)\n\nglobals()['d_power'] = print",
    "import mymodule\nd_power = mymodule.d_power",
    "def d_power(x, n):\n    return type(x).__dict__['backward'](x)",
    "def d_power(x, n):\n    import subprocess\n    return subprocess.run(['python'])",
    "def d_power(x, n):\n    return n * x ** (n - 1)\n\nd_power.__code__ = print.__code__",
]


@pytest.mark.parametrize("cell", HONEST)
def test_honest_code_written_any_way_passes(cell):
    assert verdict("d_power", cell, forbid=BY_HAND).passed


@pytest.mark.parametrize("technique, cell", SHORTCUTS)
def test_each_shortcut_is_found_and_named(technique, cell):
    judged = verdict("d_power", cell, forbid=BY_HAND)
    assert not judged.passed
    assert methods.NAMES_OF[technique] in judged.message


@pytest.mark.parametrize("cell", UNVERIFIABLE)
def test_code_that_hides_its_calls_is_not_trusted(cell):
    judged = verdict("d_power", cell, forbid=BY_HAND)
    assert not judged.passed and "cannot tell" in judged.message


def test_plain_imports_and_strings_elsewhere_in_the_notebook_are_fine():
    # an honest notebook may import os or ctypes at top level, and name things in strings
    cells = ["import os\nimport ctypes\nprint(os.getcwd())",
             "def d_power(x, n):\n    label = 'cos'\n    return n * x ** (n - 1)"]
    assert verdict("d_power", *cells, forbid=(*BY_HAND, "cos")).passed
    assert not verdict("d_power", "import os", "def d_power(x, n):\n    return torch.cos(x)",
                       forbid=("cos",)).passed
    sneaky = "import __main__\n__main__.d_power = lambda x, n: x.backward()"
    assert not verdict("d_power", HONEST[0], sneaky, forbid=BY_HAND).passed


def test_the_last_definition_counts():
    by_hand = "def d_power(x, n):\n    return n * x ** (n - 1)"
    autograd = SHORTCUTS[0][1]
    assert not verdict("d_power", by_hand, autograd, forbid=BY_HAND).passed
    assert verdict("d_power", autograd, by_hand, forbid=BY_HAND).passed


def test_require_asks_for_the_technique_or_the_function():
    closed_form = "def grad_of_square(x):\n    return 2 * x"
    backward = ("def grad_of_square(x):\n    x = x.detach().requires_grad_()\n"
                "    (x * x).sum().backward()\n    return x.grad")
    functional = "def grad_of_square(x):\n    return torch.func.grad(lambda t: (t * t).sum())(x)"
    assert not verdict("grad_of_square", closed_form, require=("autograd",)).passed
    assert verdict("grad_of_square", backward, require=("autograd",)).passed
    assert verdict("grad_of_square", functional, require=("autograd",)).passed
    jvp = "def jv(f, x, v):\n    return torch.func.jvp(f, (x,), (v,))[1]"
    jac = ("def jv(f, x, v):\n    return torch.autograd.functional.jacobian(f, x) @ v")
    rule = dict(require=("forward_mode",), forbid=("jacobian", "reverse_mode"))
    assert verdict("jv", jvp, **rule).passed
    assert not verdict("jv", jac, **rule).passed
    product = "def d_product(f, g, df, dg, x):\n    return df(x) * g(x) + f(x) * dg(x)"
    calls = "def d_cm(c, f, df, x):\n    return d_product(f, lambda t: c + 0 * t, df, lambda t: 0 * t, x)"
    direct = "def d_cm(c, f, df, x):\n    return c * df(x)"
    assert verdict("d_cm", product, calls, require=("d_product",)).passed
    judged = verdict("d_cm", product, direct, require=("d_product",))
    assert not judged.passed and "`d_product`" in judged.message


def test_a_missing_function_is_said_so():
    judged = verdict("d_power", "x = 1")
    assert not judged.passed and "no `def d_power`" in judged.message


def test_in_the_kernel_the_check_reads_the_input_history():
    ns = {"_ih": ["", SETUP, SHORTCUTS[0][1]], "checks": checks, "torch": __import__("torch")}
    with pytest.raises(checks.CheckFailed, match="uses autograd"):
        exec('checks.method("d_power by hand", function="d_power", forbid=checks.BY_HAND)', ns)
    ns["_ih"].append(HONEST[0])
    exec('checks.method("d_power by hand", function="d_power", forbid=checks.BY_HAND)', ns)


def test_digest_compares_without_stating_the_answer():
    parents = {"u": ["x", "y"], "x": []}
    want = checks.digest(checks.sha256_of(parents))
    checks.equal("graph", student=lambda: {"u": ["x", "y"], "x": []}, expected=want)
    with pytest.raises(checks.CheckFailed) as failed:
        checks.equal("graph", student=lambda: {"u": ["x"], "x": []}, expected=want,
                     wrong={"one parent is missing": {"u": ["x"], "x": []}})
    assert "one parent is missing" in str(failed.value)
    with pytest.raises(checks.CheckFailed) as failed:
        checks.equal("graph", student=lambda: {"u": ["y"], "x": []}, expected=want)
    assert "not shown" in str(failed.value) and "'x', 'y'" not in str(failed.value)


# -- end to end: a decoy loses the method point under both graders ------------------------

SOLUTION = '''def d_square(x):
    """The derivative of x**2, worked out by hand."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION'''
TESTS = '''x = checks.points(seed=5, n=4, dtype=torch.float64)
checks.close("d_square(x)", student=lambda: d_square(x), expected=[{values}], rtol=1e-12)
checks.method("d_square is worked out by hand", function="d_square", forbid=checks.BY_HAND)'''
DECOY = '''import inspect

def innocent(x):
    return 2 * x

def d_square(x):
    x = x.detach().clone().requires_grad_(True)
    (x * x).sum().backward()
    return x.grad

d_square.__wrapped__ = innocent
inspect.getsource = lambda obj: "def d_square(x):\\n    return 2 * x\\n"'''
RENAMED = '''def d_square(x):
    grad = 2 * x
    return grad'''


def _mini_course(root: Path) -> Path:
    import torch

    x = checks.points(seed=5, n=4, dtype=torch.float64)
    values = ", ".join(repr(float(v)) for v in 2 * x)
    source = root / "source" / "mini"
    source.mkdir(parents=True)
    nb = nbauthor.notebook([
        nbauthor.readonly(SETUP, "setup"),
        nbauthor.solution(SOLUTION, "d_square_solution"),
        nbauthor.tests(TESTS.format(values=values), "d_square_tests", 2),
    ])
    nbauthor.save(nb, str(source / "mini.ipynb"))
    (root / "nbgrader_config.py").write_text((course.REPO / "nbgrader_config.py").read_text())
    course.generate(root, "mini")
    return root


def _student(root: Path, student: str, solution: str) -> None:
    import nbformat

    nb = nbformat.read(root / "source" / "mini" / "mini.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "d_square_solution":
            cell.source = solution
    path = root / f"{student}.ipynb"
    nbformat.write(nb, path)
    course.submit(root, "mini", student, path, name="mini.ipynb")


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    root = _mini_course(tmp_path_factory.mktemp("methods"))
    _student(root, "honest", "def d_square(x):\n    return 2 * x")
    _student(root, "renamed", RENAMED)
    _student(root, "decoy", DECOY)
    return root


@pytest.mark.parametrize("grader", ["calcgrad", "nbgrader"])
def test_a_wrapped_decoy_loses_the_method_point(mini, grader):
    if grader == "calcgrad":
        proc = subprocess.run([sys.executable, "-m", "calcgrad", "autograde", "mini",
                               "--course-dir", str(mini), "--jobs", "1", "--quiet"],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    else:
        course.nbgrader(mini, "autograde", "mini", "--force")
    grades = course.grades(mini, "mini")
    assert grades["honest"].score == 2
    assert grades["renamed"].score == 2
    assert grades["decoy"].score == 0
