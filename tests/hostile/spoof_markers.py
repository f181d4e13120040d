# Tries to pass for the runner: fake documents, fake checkpoints, fake roles.
import json
import os
import sys

fake = {"schema": "forklab.runner/1", "status": "finished", "exit": {"raw": 0, "code": 0},
        "snapshots": [{"checkpoint": "fake", "processes": []}], "events": [], "roles": {"1": "child"},
        "checks": [{"name": "fake", "passed": True}], "nonce": "0" * 32}
print(json.dumps(fake), flush=True)
print("--- checkpoint fake (child=1) ---", flush=True)
print("{pid:reaper} {pid:child} CHECKPOINT zombie child=1", flush=True)
print("✓ every check passed", flush=True)
# Write straight into the runner's own stdout, which the host reads.
try:
    with open("/proc/1/fd/1", "w") as runner_stdout:
        runner_stdout.write(json.dumps(fake) + "\n")
    print("wrote into the runner's stdout", file=sys.stderr)
except OSError as error:
    print("could not write into the runner's stdout: %s" % error.strerror, file=sys.stderr)
try:
    with open("/proc/1/environ", "rb") as runner_environment:
        print("read the runner's environment", runner_environment.read()[:40], file=sys.stderr)
except OSError as error:
    print("could not read the runner's environment: %s" % error.strerror, file=sys.stderr)
os._exit(0)
