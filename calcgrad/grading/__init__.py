"""The grading engine behind `calcgrad autograde`: nbgrader's pipeline with a sandbox.

Student code runs in a sandbox (`sandbox` builds it, `runner` executes the
cells inside it, `protocol` is all that crosses); only plain data comes back.
Each test cell written with `calcgrad.checks` is decided in the trusted process
(`split` strips the expected halves before a test cell enters the sandbox,
`trusted` re-runs the original test cell against the recorded student values).
`autograde` runs the batch through `jobs`, `backends`, `judging` and `writer`
into nbgrader's gradebook and autograded notebooks (README.md here follows one
submission through them); `feedback` writes what the students read. The
instructor's report, `calcgrad report`, is `calcgrad.report`.

Nothing here runs on import.
"""
