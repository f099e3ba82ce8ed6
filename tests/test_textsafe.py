"""Student-derived text is inert wherever it is shown (DESIGN.md principle 8, issue 13)."""

from __future__ import annotations

import csv

import pytest

from calcgrad import report, textsafe
from calcgrad.grading import feedback, outputs, run_table
from calcgrad.grading.run_table import NotebookReport, Row

# A 0-point row whose note rewinds the line and prints a fake "35 / 35 graded" row.
FORGED = "x\r\x1b[2K\x1b[1A35 / 35  graded\u202e"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def _row(student: str = "alice", note: str = FORGED, flag: str = FORGED) -> Row:
    nb = NotebookReport(f"ps1{FORGED}.ipynb", status="tampering suspected",
                        notes=[note], flags={flag})
    return Row(student, 0.0, 35.0, [nb])


def _no_controls(text: str) -> bool:
    return not any(ord(c) < 32 and c != "\n" or 0x7f <= ord(c) <= 0x9f or c == "\u202e"
                   for c in text)


def test_inert_makes_every_control_character_visible():
    assert textsafe.inert("a\x1b[2Kb\r\x00\u202e") == "a\\x1b[2Kb\\x0d\\x00\\u202e"
    assert textsafe.inert("plain text, é, ✔") == "plain text, é, ✔"
    assert textsafe.terminal("two\nlines\r") == "two\nlines\\x0d"


def test_the_terminal_table_shows_no_control_characters():
    shown = run_table.table([_row(f"bob{FORGED}")])
    assert _no_controls(shown), repr(shown)
    assert "\\x1b[2K" in shown  # still there, as visible text


@pytest.mark.parametrize("student", ["-2+3", "=1+1", "+cmd", "@SUM(A1)", "carol"])
def test_the_csv_holds_no_formula_and_no_control_character(tmp_path, student):
    path = run_table.write_csv([_row(student, note=FORMULA)], tmp_path / "run.csv")
    text = path.read_text(encoding="utf-8")
    assert _no_controls(text.replace("\r\n", "\n")), repr(text)
    with open(path, newline="", encoding="utf-8") as fh:
        raw = next(csv.DictReader(fh))
    for column in run_table.TEXT_COLUMNS:
        assert not raw[column].startswith(textsafe.FORMULA_START), raw
    # Reading it back (as `calcgrad report` does) gives the student id that was written.
    assert run_table.read_csv(path)[0]["student"] == student
    assert report.read_statuses(path)[student][0] == "tampering suspected"


def test_the_html_report_and_feedback_escape_student_text():
    assert textsafe.html("<b onclick='x'>\x1b[2K") == \
        "&lt;b onclick=&#x27;x&#x27;&gt;\\x1b[2K"
    assert feedback._e("<script>\x07") == "&lt;script&gt;\\x07"


@pytest.mark.parametrize("svg", [
    '<svg><a href="jav&#x61;script:alert(1)">x</a></svg>',
    '<svg><a xlink:href="java&#9;script:alert(1)">x</a></svg>',
    '<svg><a href="jav&amp;#x61;script:alert(1)">x</a></svg>',
    '<svg\nonload="alert(1)"></svg>',
    '<svg><scr&#x69;pt>alert(1)</script></svg>',
    '<svg><foreignObject><iframe src="x"/></foreignObject></svg>',
    '<svg><image href="data:image/svg+xml;base64,PHN2Zz4="/></svg>',
])
def test_scriptable_svg_is_dropped_however_it_is_encoded(svg):
    assert outputs.unsafe_svg(svg)
    raw = {"output_type": "display_data", "data": {"image/svg+xml": svg, "text/plain": "fig"}}
    assert "image/svg+xml" not in outputs.clean_output(raw).data


def test_a_plain_matplotlib_svg_is_kept():
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 4, 9], label="x**2")
    ax.legend()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    assert not outputs.unsafe_svg(buf.getvalue())
