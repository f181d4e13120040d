# Fails the way a student's script does: some output, then an uncaught exception.
print("working on it")


def deepest():
    raise ValueError("the bug is here")


deepest()
