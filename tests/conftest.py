import os

# Headless plots everywhere in the suite.
os.environ.setdefault("MPLBACKEND", "Agg")
