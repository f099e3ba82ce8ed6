"""What `calcgrad serve` is doing, for the instructor: counters, and a page on localhost.

`GET /` is a small HTML page, `GET /status.json` the same figures as JSON: submissions
waiting, graded so far, p50/p95 seconds from `nbgrader submit` to feedback fetchable, the
last errors and the students whose feedback waits under the rate limit. Text from
submissions (student ids, statuses) is made inert before it is shown.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from calcgrad import textsafe

LAST_ERRORS = 20
LATENCIES = 1000


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by the nearest-rank method; None with no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.started = time.time()
        self.queue = 0
        self.graded = 0
        self.latencies: deque[float] = deque(maxlen=LATENCIES)
        self.errors: deque[dict] = deque(maxlen=LAST_ERRORS)
        self.held: dict[str, float] = {}  # "assignment/student" -> release time (epoch)

    def set_queue(self, n: int) -> None:
        with self._lock:
            self.queue = n

    def graded_one(self, latency: float | None) -> None:
        with self._lock:
            self.graded += 1
            self.queue = max(0, self.queue - 1)
            if latency is not None:
                self.latencies.append(latency)

    def released(self, latency: float | None) -> None:
        with self._lock:
            if latency is not None:
                self.latencies.append(latency)

    def error(self, who: str, what: str) -> None:
        with self._lock:
            self.errors.append({"at": time.time(), "who": who, "what": what[:300]})

    def set_held(self, held: dict[str, float]) -> None:
        with self._lock:
            self.held = dict(held)

    def snapshot(self) -> dict:
        with self._lock:
            lat = list(self.latencies)
            return {"queue": self.queue, "graded": self.graded,
                    "p50_seconds": percentile(lat, 50), "p95_seconds": percentile(lat, 95),
                    "errors": list(self.errors),
                    "rate_limited": [{"who": k, "until": v} for k, v in sorted(self.held.items())],
                    "uptime_seconds": round(time.time() - self.started, 1)}


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.2f} s"


def page(snap: dict) -> str:
    e = textsafe.html
    errors = "".join(f"<li>{e(time.strftime('%H:%M:%S', time.localtime(x['at'])))} "
                     f"<b>{e(x['who'])}</b>: {e(x['what'])}</li>" for x in snap["errors"])
    held = "".join(f"<li><b>{e(x['who'])}</b> until "
                   f"{e(time.strftime('%H:%M:%S', time.localtime(x['until'])))}</li>"
                   for x in snap["rate_limited"])
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><meta http-equiv='refresh' "
            "content='5'><title>calcgrad serve</title></head><body>"
            "<h1>calcgrad serve</h1><table>"
            f"<tr><th>waiting</th><td id='queue'>{snap['queue']}</td></tr>"
            f"<tr><th>graded</th><td id='graded'>{snap['graded']}</td></tr>"
            f"<tr><th>p50 submit to feedback</th><td id='p50'>{_fmt(snap['p50_seconds'])}</td></tr>"
            f"<tr><th>p95 submit to feedback</th><td id='p95'>{_fmt(snap['p95_seconds'])}</td></tr>"
            "</table>"
            f"<h2>Last errors</h2><ul id='errors'>{errors or '<li>none</li>'}</ul>"
            f"<h2>Feedback held by the rate limit</h2><ul id='held'>{held or '<li>none</li>'}</ul>"
            "</body></html>")


def serve_status(stats: Stats, port: int = 0) -> ThreadingHTTPServer:
    """Start the page on 127.0.0.1 in a daemon thread; `.server_address[1]` is the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # the name http.server calls
            snap = stats.snapshot()
            if self.path == "/status.json":
                body, kind = json.dumps(snap).encode(), "application/json"
            elif self.path == "/":
                body, kind = page(snap).encode(), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # no access log on stderr
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="status-page", daemon=True).start()
    return server
