# 在程序中多次调用fork(): the tutorial's last snippet, as printed, plus one line
# printed before the forks without a flush.
import os

print("准备fork")        # no flush: on a pipe this line is still in the buffer at fork()

os.fork()  # 主进程会产生一个子进程,两个进程从这里开始继续向下进行
os.fork()  # 两个进程到这里,分别会给自己创建一个子进程,结果 会有四个进程从这里继续向下
os.fork()  # 四个进程到这里,每个进程都会给自己再创建一个子进程。结果会形成八个进程
print("哈哈哈")    # 会打印出八条哈哈哈
