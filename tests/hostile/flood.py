# Prints far more than anyone should keep: 20 MiB on stdout, 20 MiB on stderr.
import sys

line = "flood " * 170 + "\n"          # about 1 KiB
for _ in range(20 * 1024):
    sys.stdout.write(line)
    sys.stderr.write(line)
print("the end", flush=True)
