"""The loop of `calcgrad serve`: scan, collect, grade, write feedback, release.

Each pass scans the watched folder for the latest complete attempt of every student and
assignment, and handles those the journal has not recorded as done: collected into
submitted/ (exchange), graded in one `Grader.run` per assignment on warm sandboxes, then per
student, as each is graded: feedback written (filtered by `show` before the due date) and
released, or held by the rate limit; then the journal records it. A pass runs at start
(submissions that came while the service was down), on each file event, and when a held
feedback falls due.

Stopping: SIGINT or SIGTERM ends the pass at once (a notebook in a sandbox is killed), the
warm sandboxes are closed and the process exits 0; whatever was not recorded as done is
graded again at the next start.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC

from calcgrad import textsafe
from calcgrad.serve import exchange, visibility
from calcgrad.serve.engine import AssignmentEngine, ConfigurationError
from calcgrad.serve.journal import Journal, key
from calcgrad.serve.settings import load as load_settings
from calcgrad.serve.status import Stats, serve_status
from calcgrad.serve.watch import Watcher


def _submitted_at(timestamp: str) -> float | None:
    """An nbgrader timestamp as epoch seconds (None if it does not parse)."""
    from nbgrader.utils import parse_utc

    try:
        when = parse_utc(timestamp)
    except (ValueError, TypeError, OverflowError):
        return None
    return when.replace(tzinfo=UTC).timestamp()


class Service:
    def __init__(self, course, assignments: list[str] | None = None, log=None,
                 sandbox: bool = True, dask_scheduler: str | None = None,
                 status_port: int | None = None):
        self.course = course
        self.settings = load_settings(course.config)
        self.log = log or (lambda text: print(textsafe.terminal(text), file=sys.stderr,
                                              flush=True))
        self.nblog = logging.getLogger("calcgrad.serve")
        inbound = exchange.Inbound(course, self.nblog)
        self.source = inbound if inbound.exists() else exchange.Submitted(course, self.nblog)
        self.named = bool(assignments)  # --assignment given: each one must be servable
        self.assignments = set(assignments or course.sources())
        self.journal = Journal.in_course(course.root)
        self.stats = Stats()
        self.stats.set_held({k: v for k, v in self.journal.held.items()})
        self.sandbox, self.dask_scheduler = sandbox, dask_scheduler
        self.status_port = self.settings.status_port if status_port is None else status_port
        self.engines: dict[str, AssignmentEngine] = {}
        self.wake = threading.Event()
        self.stop = threading.Event()
        self._grading = False
        self.watcher: Watcher | None = None
        self.server = None

    # -- life cycle
    def start(self) -> None:
        for assignment in sorted(self.assignments):
            try:
                self.engine(assignment).check()  # a configuration error stops here
            except ConfigurationError as exc:
                if self.named:
                    raise
                self.log(f"calcgrad serve: not serving {assignment}: {exc}")
                self.assignments.discard(assignment)
                self.engines.pop(assignment).close()
        if not self.assignments:
            raise ConfigurationError("no assignment to serve (none in source/ is in the "
                                     "gradebook: run `nbgrader generate_assignment` first)")
        if not self.source.exists():
            raise exchange_missing(self.source)
        only = exchange.SECRET if isinstance(self.source, exchange.Inbound) else None
        self.watcher = Watcher(self.source.watched, self.wake.set, only_name=only)
        self.watcher.start()
        self.server = serve_status(self.stats, self.status_port)
        where = ("the exchange inbound" if isinstance(self.source, exchange.Inbound)
                 else "submitted/")
        self.log(f"calcgrad serve: watching {where} {self.source.watched} for "
                 f"{', '.join(sorted(self.assignments))}; status page "
                 f"http://127.0.0.1:{self.server.server_address[1]}/")
        for assignment in sorted(self.assignments):  # sandboxes warm before the first pass
            self.engine(assignment).warm_up()
        self.log("calcgrad serve: sandboxes warm")
        self.wake.set()  # the first pass: whatever came while the service was down

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for engine in self.engines.values():
            engine.close()
        self.engines.clear()

    def engine(self, assignment: str) -> AssignmentEngine:
        if assignment not in self.engines:
            jobs = self.settings.jobs or os.cpu_count() or 1
            self.engines[assignment] = AssignmentEngine(
                self.course, assignment, jobs, self.log, sandbox=self.sandbox,
                dask_scheduler=self.dask_scheduler)
        return self.engines[assignment]

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM stop the service. During a grading pass they interrupt it the
        way Ctrl-C interrupts `calcgrad autograde` (the engine finishes writing the student
        it is saving, then kills the sandboxes); SIGTERM is turned into SIGINT for that."""
        def on_sigint(signum, frame):
            self.stop.set()
            self.wake.set()
            if self._grading:
                raise KeyboardInterrupt

        def on_sigterm(signum, frame):
            os.kill(os.getpid(), signal.SIGINT)

        signal.signal(signal.SIGINT, on_sigint)
        signal.signal(signal.SIGTERM, on_sigterm)

    def run_forever(self) -> None:
        self.start()
        try:
            while not self.stop.is_set():
                self.wake.wait(timeout=self._next_due())
                if self.stop.is_set():
                    break
                self.wake.clear()
                self._settle()
                try:
                    self.one_pass()
                except KeyboardInterrupt:
                    break
        finally:
            self.close()
            self.log("calcgrad serve: stopped")

    def _settle(self) -> None:
        """Without an exchange, wait until submitted/ has been quiet for settle_seconds."""
        if isinstance(self.source, exchange.Inbound) or self.watcher is None:
            return
        while not self.stop.is_set():
            quiet = time.monotonic() - self.watcher.last_event
            if quiet >= self.settings.settle_seconds:
                return
            self.stop.wait(self.settings.settle_seconds - quiet)

    def _next_due(self) -> float | None:
        if not self.journal.held:
            return None
        return max(0.05, min(self.journal.held.values()) - time.time())

    # -- one pass
    def todo(self) -> list[exchange.Attempt]:
        latest = self.source.latest(self.assignments)
        return [a for (_, _), a in sorted(latest.items())
                if self.journal.graded.get(key(a.assignment, a.student)) != a.name]

    def one_pass(self) -> None:
        self.release_due()
        attempts = self.todo()
        self.stats.set_queue(len(attempts))
        by_assignment: dict[str, list[exchange.Attempt]] = defaultdict(list)
        for attempt in attempts:
            by_assignment[attempt.assignment].append(attempt)
        for assignment, batch in sorted(by_assignment.items()):
            if self.stop.is_set():
                return
            self.grade_batch(assignment, batch)

    def grade_batch(self, assignment: str, batch: list[exchange.Attempt]) -> None:
        engine = self.engine(assignment)
        started = {a.student: time.monotonic() for a in batch}
        attempts = {a.student: a for a in batch}
        collected = []
        for attempt in batch:
            try:
                self.source.collect(attempt)
            except (OSError, RuntimeError) as exc:  # too big, unreadable: only this student
                self.stats.error(f"{assignment}/{attempt.student}", f"not collected: {exc}")
                self.log(f"calcgrad serve: {attempt.student} {assignment}: not collected "
                         f"({exc})")
                # Done with this attempt (nothing to grade): the next one is looked at anew.
                self.journal.done(assignment, attempt.student, attempt.name, None, None)
                continue
            collected.append(attempt.student)
        if not collected:
            return
        duedate = engine.duedate()
        adjust = (visibility.adjuster(self.settings.show)
                  if visibility.before_due(duedate) else None)

        def on_row(row) -> None:
            self.finish(engine, attempts[row.student], row, started[row.student], adjust)

        self._grading = True
        try:
            engine.grade(collected, on_row)
        finally:
            self._grading = False

    def finish(self, engine, attempt: exchange.Attempt, row, started: float, adjust) -> None:
        """A graded student: feedback, release or hold, journal, log line."""
        who = f"{attempt.assignment}/{attempt.student}"
        seconds = time.monotonic() - started
        if row.status != "graded":
            self.stats.error(who, f"status {row.status}: " + "; ".join(row.notes[:2]))
        engine.feedback(attempt.student, adjust)
        k = key(attempt.assignment, attempt.student)
        now = time.time()
        interval = self.settings.min_interval_minutes * 60
        last = self.journal.released.get(k)
        if interval > 0 and last is not None and now - last < interval:
            held_until = last + interval
            self.journal.done(attempt.assignment, attempt.student, attempt.name, None,
                              held_until)
            self.stats.set_held(self.journal.held)
            self.stats.graded_one(None)
            outcome = "feedback held until " + time.strftime("%H:%M:%S",
                                                              time.localtime(held_until))
        else:
            self.source.release(attempt.student, attempt.assignment)
            released = time.time()
            self.journal.done(attempt.assignment, attempt.student, attempt.name, released,
                              None)
            self.stats.set_held(self.journal.held)
            submitted = _submitted_at(attempt.timestamp)
            self.stats.graded_one(None if submitted is None else released - submitted)
            outcome = "feedback released"
        values = row.values()
        self.log(f"graded {attempt.student} {attempt.assignment}: {values['score']} / "
                 f"{values['max_score']} ({row.status}) in {seconds:.2f} s; {outcome}")

    def release_due(self) -> None:
        now = time.time()
        for k, until in sorted(self.journal.held.items()):
            if until > now:
                continue
            assignment, student = k.split("/", 1)
            self.source.release(student, assignment)
            self.journal.release_done(assignment, student, time.time())
            self.log(f"released held feedback of {student} {assignment}")
        self.stats.set_held(self.journal.held)



def exchange_missing(source) -> ConfigurationError:
    return ConfigurationError(f"nothing to watch: {source.watched} does not exist (no "
                              "exchange inbound for this course, and no submitted/ folder)")
