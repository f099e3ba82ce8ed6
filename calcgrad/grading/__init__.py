"""The grading engine behind `calcgrad autograde`: nbgrader's pipeline with a sandbox.

Student code runs in a sandbox (`sandbox` builds it, `runner` executes the
cells inside it); only plain data comes back. Each test cell written with
`calcgrad.checks` is decided in the trusted process (`split` strips the
expected halves before a test cell enters the sandbox, `trusted` re-runs the
original test cell against the recorded student values). `autograde` ties
this into nbgrader's gradebook and autograded notebooks; `report` and
`feedback` are what the instructor and the students read.

Nothing here runs on import.
"""
