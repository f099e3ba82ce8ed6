"""`calcgrad serve`: grade each submission as it arrives and release its feedback.

Modules: `settings` (the instructor's choices, from nbgrader_config.py), `journal` (what is
done, kept on disk so that nothing is lost across restarts), `exchange` (finding, collecting
and releasing submissions as nbgrader does), `engine` (the one adapter to the grading
engine), `watch` (file events), `status` (counters and the localhost status page) and
`service` (the loop that ties them together).
"""
