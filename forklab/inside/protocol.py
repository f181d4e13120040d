"""What the runner, the fork hook and the host agree on: names, marks, fields.

Standard library only, and nothing imported: every Python process of a lab
loads it (through the fork hook), so it stays a list of constants.
"""

#: The runner's document: one JSON object on its stdout, with this schema.
SCHEMA = "forklab.runner/1"
#: What `ps -eo` shows in a snapshot's raw text (and the host's, when the runner steps aside).
PS_FIELDS = "pid,ppid,pgid,stat,comm,args"
#: A role's name: a letter, then letters, digits, _ or -, 32 at most.
ROLE_REGEX = r"^[A-Za-z][A-Za-z0-9_-]{0,31}$"
#: Names no lab may give a process: the runner's own.
RESERVED_ROLES = frozenset({"reaper"})
#: A fork's number ("nth", the parent's count) above this is no count a process
#: could reach in one run; the report keeps no number then.
MAX_NTH = 10**9

# -- environment variables ------------------------------------------------------------
#: The runner's socket path, for checkpoint() and the fork hook (set only by the runner).
SOCKET_ENV = "FORKLAB_SOCKET"
#: When the runner steps aside: this run's secret, which starts every line meant for the host.
HOST_ENV = "FORKLAB_HOST"
#: ... and the pid of the lab's main process (set by ``python3 -m forklab.checkpoint``).
MAIN_ENV = "FORKLAB_MAIN"
#: The lab reads the name of the variant it runs as here.
VARIANT_ENV = "FORKLAB_VARIANT"
#: The host passes a per-run secret here; the document carries it back, so
#: nothing a lab prints or writes can pass for the runner's document.
NONCE_ENV = "FORKLAB_NONCE"
#: The lab's files, as a gzip tar archive in base64, cut into parts: this
#: variable holds the number of parts, FORKLAB_ARCHIVE_0, _1, ... the text
#: (no one environment string may exceed 128 KiB).
ARCHIVE_ENV = "FORKLAB_ARCHIVE"
#: Runs of several labs in one container: the second lab's archive is in
#: FORKLAB_ARCHIVE1 (and FORKLAB_ARCHIVE1_0, ...), the third's in FORKLAB_ARCHIVE2, ...
#: and each run says which it unpacks ("archive": N) and runs ("script").
#: --chaos: "SEED:REPETITION:MAX_MS", read by the fork hooks.
CHAOS_ENV = "FORKLAB_CHAOS"
#: The folder where each of the lab's Python processes notes its writes to
#: stdout, forks and waits (forklab/inside/checkpoint.py has the format).
WRITES_ENV = "FORKLAB_WRITES"

#: A line on stderr for the host (runner stepped aside): this, the secret, a space and one JSON object.
HOST_MARK = "\x1eforklab "
