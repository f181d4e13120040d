# 缓冲区与fork: print() writes into a buffer inside the process first, and
# fork() copies the process, buffer and all.  Five small experiments, one
# after another; every parent waits for its child, so the lines come out in
# the same order in every run.
import os
import sys

# 1. 在fork之前打印一行, 不flush.
print("1. fork之前打印的一行")        # on a pipe this line is still in the buffer at fork()
pid = os.fork()
if pid == 0:
    print("1. 子进程")
    sys.exit(0)                       # sys.exit() writes out the buffer before the process ends
os.waitpid(pid, 0)
print("1. 父进程", flush=True)

# 2. 子进程用 os._exit() 还是 sys.exit() 结束.
pid = os.fork()
if pid == 0:
    print("2. 子进程用os._exit(0)结束")
    os._exit(0)                       # ends the process at once: the buffer is never written
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    print("2. 子进程用sys.exit(0)结束")
    sys.exit(0)
os.waitpid(pid, 0)

# 3. 在fork之前 flush.
print("3. fork之前打印的一行, flush=True", flush=True)
pid = os.fork()
if pid == 0:
    print("3. 子进程")
    sys.exit(0)
os.waitpid(pid, 0)
print("3. 父进程", flush=True)

# 4. 实验1的代码, 用 python3 -u 运行 (started the way a shell starts a command:
# fork, then exec; lab 10 is about exec).
snippet = """
import os, sys
print("4. python3 -u: fork之前打印的一行")
pid = os.fork()
if pid == 0:
    print("4. python3 -u: 子进程")
    sys.exit(0)
os.waitpid(pid, 0)
print("4. python3 -u: 父进程")
"""
pid = os.fork()
if pid == 0:
    os.execvp("python3", ["python3", "-u", "-c", snippet])
os.waitpid(pid, 0)

# 5. 两个进程各打印一行哈哈哈.  print("哈哈哈") makes two writes, "哈哈哈" and then
# "\n"; here the child prints its whole line between the parent's two, every run.
print("5. 两个进程各打印一行哈哈哈:", flush=True)
your_turn_r, your_turn_w = os.pipe()   # parent -> child: print now
done_r, done_w = os.pipe()             # child -> parent: I have printed
pid = os.fork()
if pid == 0:
    os.read(your_turn_r, 1)
    print("哈哈哈")
    os.write(done_w, b".")
    sys.exit(0)
sys.stdout.write("哈哈哈")             # what print("哈哈哈") writes first ...
os.write(your_turn_w, b".")
os.read(done_r, 1)
sys.stdout.write("\n")                 # ... and second
os.waitpid(pid, 0)
