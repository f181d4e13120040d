# Takes memory until the kernel's OOM killer stops it.
hog = []
while True:
    hog.append(b"x" * (16 * 1024 * 1024))
