"""Calculus & Autograd: the course package.

Modules: `plotting` (figures), `calculus` (what the lectures reuse),
`checks` (the API of every test cell), `plain` and `verdicts` (what checks
are made of), `grading` (the grading engine and the `calcgrad` command).
"""

__version__ = "0.1.0"
