# Output that is not text: invalid UTF-8, NUL bytes, terminal escapes, a very long line.
import sys

out = sys.stdout.buffer
out.write(b"invalid utf-8: \xff\xfe\xc3\x28\n")
out.write(b"a NUL byte: [\x00]\n")
out.write(b"\x1b[31mred\x1b[0m \x1b]0;a new window title\x07 \x1b[2J\n")
out.write(b"<script>alert('not run')</script>\n")
out.write(b"x" * 1_000_000 + b"\n")
out.flush()
