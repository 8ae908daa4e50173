#!/usr/bin/env python3
"""Wall time and CPU time of one durable write on this machine's disk.

Overwrites N pages in place in a file of its own (already allocated, so that no
metadata changes) and calls fdatasync, 1000 times for each N, and prints per sync the
wall time and the CPU time the process spent (system and user). On a virtual machine
the system time is the guest kernel's share of a sync: block layer, virtio notification
and completion. The log's committer pays it once per batch.

    python3 scripts/fsync_cpu.py [DIR]     # DIR: where the probe file goes (default: target)
"""

import os
import resource
import sys
import time

directory = sys.argv[1] if len(sys.argv) > 1 else "target"
os.makedirs(directory, exist_ok=True)
path = os.path.join(directory, "fsync-probe")
span = 64 * 4096 * 60
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
try:
    os.pwrite(fd, b"\0" * span, 0)
    os.fsync(fd)
    print("| pages per sync | wall µs/sync | system CPU µs/sync | user CPU µs/sync |")
    print("|---|---|---|---|")
    for pages in (1, 2, 8, 32):
        buf = b"x" * (4096 * pages)
        n = 1000
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        off = 0
        for _ in range(n):
            os.pwrite(fd, buf, off)
            off = (off + len(buf)) % (span - len(buf))
            os.fdatasync(fd)
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        wall = 1e6 * (t1 - t0) / n
        sys_us = 1e6 * (r1.ru_stime - r0.ru_stime) / n
        user_us = 1e6 * (r1.ru_utime - r0.ru_utime) / n
        print(f"| {pages} | {wall:.0f} | {sys_us:.0f} | {user_us:.0f} |")
finally:
    os.close(fd)
    os.unlink(path)
