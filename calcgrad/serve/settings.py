"""The instructor's settings for `calcgrad serve`, read from nbgrader_config.py:

    c.CalcgradServe.show = "hidden_counted"
    c.CalcgradServe.min_interval_minutes = 10
"""

from __future__ import annotations

from traitlets import Enum, Float, Integer
from traitlets.config import Configurable

SHOW_CHOICES = ("all", "hidden_counted", "visible_only")


class CalcgradServe(Configurable):
    show = Enum(SHOW_CHOICES, default_value="all", help=(
        "What feedback released before the due date shows: 'all' (every check's verdict and "
        "message, hidden checks' without their inputs), 'hidden_counted' (hidden checks only "
        "counted: how many passed) or 'visible_only' (hidden checks left out). After the due "
        "date (or with none set) feedback shows everything, as `calcgrad feedback` does; a "
        "hidden check's source and inputs are never shown.")).tag(config=True)
    min_interval_minutes = Float(0.0, help=(
        "At most one feedback per student and assignment within this many minutes. A "
        "submission over the limit is still collected and graded; only its feedback waits "
        "until the interval has passed (the latest graded one is then released).")
    ).tag(config=True)
    jobs = Integer(0, help="Notebooks graded at once (0: the machine's cores).").tag(config=True)
    settle_seconds = Float(1.0, help=(
        "Without an exchange (submitted/ watched directly): how long a submission folder must "
        "stay unchanged before it is graded.")).tag(config=True)
    status_port = Integer(0, help="Port of the status page on 127.0.0.1 (0: a free one, "
                                  "printed at start).").tag(config=True)


def load(config) -> CalcgradServe:
    return CalcgradServe(config=config)
