"""nbgrader configuration for the Calculus & Autograd course.

Read by every nbgrader command run in this folder, and copied into the
throwaway course folders the tests and `make demo` create.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# The course id, as it appears in the gradebook, the exchange and exports.
c.CourseDirectory.course_id = "calculus-autograd"
# The course root is the folder holding this file, wherever nbgrader is started from.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Per-cell time limit in seconds: the first cell imports torch, which takes seconds.
c.Execute.timeout = 120
# Time allowed for a kernel to start (a loaded machine starts kernels slowly).
c.Execute.startup_timeout = 120
# Test cells a student deleted are put back from the gradebook at autograde.
c.OverwriteCells.add_missing_cells = True
# Keep at most this many lines of each output in the autograded notebook.
c.LimitOutput.max_lines = 1000
# Keep at most this many lines of each traceback.
c.LimitOutput.max_traceback = 100
# What a student sees in place of a solution: an error that says the exercise is open.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# The solution cells' text placeholder for written answers.
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# nbgrader's own feedback (`nbgrader generate_feedback`, formgrader's Generate Feedback
# button) shows each test cell's outcome without its code: no hidden tests, and no hidden
# values in a failed hidden check's message (calcgrad/grading/nbgrader_feedback.py).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from calcgrad.grading.nbgrader_feedback import HideTests  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, HideTests, CSSHTMLHeaderPreprocessor]
# How much a failed hidden check tells the student in feedback: "hints" (that it failed on
# inputs not shown, and its hints without numbers) or "full" (its whole message).
c.CalcgradFeedback.hidden_check_details = "hints"
