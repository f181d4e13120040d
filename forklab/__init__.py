"""forklab: run Unix fork experiments in a sandboxed Linux container and report what happened.

This package is imported inside the lab image too (by the runner and the
checkpoint helper), so it must stay standard-library only and import nothing here.
"""

__version__ = "0.1.0"
