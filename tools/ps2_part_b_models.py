"""Model answers of ps2 Part B (Exercises 8 to 10) for every variant (maintainers only).

Variant k is calcgrad.variants.PS2_PART_B[k]; these are the answers a student of that
variant writes by hand. They stay out of the calcgrad package (which students have) and out
of source/ps2_autograd/ (nbgrader copies that folder's files into the release); the source
notebook holds them only inside solution regions. `check_models()` compares every one with
autograd through the family's nodes.
"""

from __future__ import annotations

import torch

from calcgrad import variants

FAMILIES = variants.PS2_PART_B

# Function bodies (indented 4): df_dx_by_hand, tangents_forward, adjoints_backward.
MODELS = [
    {
        "df": '''
    return 2 / x * torch.sin(x) + torch.log(x**2) * torch.cos(x) - 1 / x**2''',
        "forward": '''
    a, da = x**2, 2 * x
    b, db = torch.log(a), da / a
    c, dc = torch.sin(x), torch.cos(x)
    dd = db * c + b * dc
    de = -1 / x**2
    df = dd + de
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": df}''',
        "backward": '''
    a = x**2
    b = torch.log(a)
    c = torch.sin(x)
    f_bar = torch.ones_like(x)
    d_bar = f_bar  # f = d + e
    e_bar = f_bar
    b_bar = d_bar * c  # d = b c
    c_bar = d_bar * b
    a_bar = b_bar / a  # b = log a
    x_bar = a_bar * 2 * x + c_bar * torch.cos(x) + e_bar * (-1 / x**2)  # three paths from x
    return {"f": f_bar, "e": e_bar, "d": d_bar, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}''',
    },
    {
        "df": '''
    b = x * torch.cos(x)
    db = torch.cos(x) - x * torch.sin(x)
    return 2 * b * db / (1 + b**2) * torch.sin(x) + torch.log(1 + b**2) * torch.cos(x)''',
        "forward": '''
    a, da = torch.cos(x), -torch.sin(x)
    b, db = x * a, a + x * da
    c, dc = 1 + b**2, 2 * b * db
    d, dd = torch.log(c), dc / c
    e, de = torch.sin(x), torch.cos(x)
    df = dd * e + d * de
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": df}''',
        "backward": '''
    a = torch.cos(x)
    b = x * a
    c = 1 + b**2
    d = torch.log(c)
    e = torch.sin(x)
    f_bar = torch.ones_like(x)
    e_bar = f_bar * d  # f = d e
    d_bar = f_bar * e
    c_bar = d_bar / c  # d = log c
    b_bar = c_bar * 2 * b  # c = 1 + b^2
    a_bar = b_bar * x  # b = x a
    x_bar = b_bar * a + a_bar * (-torch.sin(x)) + e_bar * torch.cos(x)  # three paths from x
    return {"f": f_bar, "e": e_bar, "d": d_bar, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}''',
    },
    {
        "df": '''
    c = x / torch.sqrt(1 + x**2)
    dc = 1 / (1 + x**2) ** 1.5
    return torch.exp(c) * dc * torch.cos(x) - torch.exp(c) * torch.sin(x)''',
        "forward": '''
    a, da = 1 + x**2, 2 * x
    b = torch.sqrt(a)
    db = da / (2 * b)
    c, dc = x / b, (b - x * db) / b**2
    d = torch.exp(c)
    dd = d * dc
    e, de = torch.cos(x), -torch.sin(x)
    df = dd * e + d * de
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": df}''',
        "backward": '''
    a = 1 + x**2
    b = torch.sqrt(a)
    c = x / b
    d = torch.exp(c)
    e = torch.cos(x)
    f_bar = torch.ones_like(x)
    e_bar = f_bar * d  # f = d e
    d_bar = f_bar * e
    c_bar = d_bar * d  # d = exp(c)
    b_bar = c_bar * (-x / b**2)  # c = x / b
    a_bar = b_bar / (2 * b)  # b = sqrt(a)
    x_bar = c_bar / b + a_bar * 2 * x + e_bar * (-torch.sin(x))  # three paths from x
    return {"f": f_bar, "e": e_bar, "d": d_bar, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}''',
    },
    {
        "df": '''
    d = torch.exp(torch.sin(x) * torch.cos(x))
    dc = torch.cos(x) ** 2 - torch.sin(x) ** 2
    return d * dc / (1 + x**2) - d * 2 * x / (1 + x**2) ** 2''',
        "forward": '''
    a, da = torch.sin(x), torch.cos(x)
    b, db = torch.cos(x), -torch.sin(x)
    c, dc = a * b, da * b + a * db
    d = torch.exp(c)
    dd = d * dc
    e = 1 / (1 + x**2)
    de = -2 * x * e**2
    df = dd * e + d * de
    return {"a": da, "b": db, "c": dc, "d": dd, "e": de, "f": df}''',
        "backward": '''
    a = torch.sin(x)
    b = torch.cos(x)
    d = torch.exp(a * b)
    e = 1 / (1 + x**2)
    f_bar = torch.ones_like(x)
    e_bar = f_bar * d  # f = d e
    d_bar = f_bar * e
    c_bar = d_bar * d  # d = exp(c)
    a_bar = c_bar * b  # c = a b
    b_bar = c_bar * a
    x_bar = a_bar * torch.cos(x) + b_bar * (-torch.sin(x)) + e_bar * (-2 * x * e**2)
    return {"f": f_bar, "e": e_bar, "d": d_bar, "c": c_bar, "b": b_bar, "a": a_bar, "x": x_bar}''',
    },
]

NAMES = {"df": "df_dx_by_hand", "forward": "tangents_forward", "backward": "adjoints_backward"}


def parents_source(k: int) -> str:
    return "parents = " + repr({n: list(v) for n, v in FAMILIES[k].parents.items()})


def function(k: int, part: str):
    """Variant k's model answer `part` ("df", "forward", "backward") as a callable."""
    ns = {"torch": torch}
    exec(f"def {NAMES[part]}(x):" + MODELS[k][part], ns)
    return ns[NAMES[part]]


def model_answer(k: int) -> str:
    """Variant k's answers to Exercises 8 to 10, as the student would write them."""
    parts = [parents_source(k)]
    for part, name in NAMES.items():
        parts.append(f"def {name}(x):" + MODELS[k][part])
    return "\n\n\n".join(parts) + "\n"


def autograd_tangents(k: int, x: torch.Tensor) -> dict:
    out = {}
    for name in "abcdef":
        t = x.detach().clone().requires_grad_(True)
        out[name] = torch.autograd.grad(FAMILIES[k].nodes(t)[name].sum(), t)[0]
    return out


def autograd_adjoints(k: int, x: torch.Tensor) -> dict:
    out = {"f": torch.ones_like(x)}
    for name in "edcbax":
        nodes = FAMILIES[k].nodes(x.detach().clone().requires_grad_(True))
        out[name] = torch.autograd.grad(nodes["f"].sum(), nodes[name])[0]
    return out


def check_models(x: torch.Tensor | None = None) -> None:
    """Every model answer agrees with autograd (raises AssertionError otherwise)."""
    if x is None:
        x = torch.cat([torch.linspace(-4.0, -0.3, 50, dtype=torch.float64),
                       torch.linspace(0.3, 6.0, 50, dtype=torch.float64)])
    assert len(MODELS) == len(FAMILIES)
    for k in range(len(FAMILIES)):
        tangents, adjoints = autograd_tangents(k, x), autograd_adjoints(k, x)
        pairs = [(function(k, "df")(x), tangents["f"])]
        pairs += [(function(k, "forward")(x)[n], tangents[n]) for n in "abcdef"]
        pairs += [(function(k, "backward")(x)[n], adjoints[n]) for n in "fedcbax"]
        for got, want in pairs:
            assert torch.allclose(got, want, rtol=1e-11, atol=1e-12), f"variant {k}"
