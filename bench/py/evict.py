"""
Drops the given files' pages from the OS page cache (posix_fadvise DONTNEED), so a benchmark's
next read of them comes from the disk. Input: {"files": [...]} on stdin. Output: {"evicted": n}.
"""
import json
import os
import sys

req = json.load(sys.stdin)
n = 0
for path in req['files']:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        continue
    try:
        # Dirty pages cannot be dropped: sync first (a no-op for Weir's already-synced objects).
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        n += 1
    finally:
        os.close(fd)
json.dump({'evicted': n}, sys.stdout)
