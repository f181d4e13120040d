"""What runs inside the lab container: standard library only.

``runner`` observes and reaps (the container's PID 1), ``checkpoint`` is the
call labs make and the fork hook the image's sitecustomize installs, and
``protocol`` holds what they and the host agree on: environment variables,
marks, ps fields, role names.  tests/test_inside.py keeps these modules to the
standard library; the image (containers/Dockerfile) and Gradescope's runtime
(forklab/autograder.py) copy exactly IMAGE_FILES.

``forklab.runner`` and ``forklab.checkpoint`` are the names labs, course
scripts and ``python3 -m`` use; they are these modules under another name.
"""

#: Every file of the package the lab image needs, relative to forklab/.
IMAGE_FILES = ("__init__.py", "runner.py", "checkpoint.py",
               "inside/__init__.py", "inside/protocol.py", "inside/runner.py", "inside/checkpoint.py")
