"""Peak summed RSS of a process and all its descendants (worker processes included), sampled
from /proc every second until the process ends. /usr/bin/time reports only the largest single
process, which undercounts a run with --workers > 1.
Usage: python benchmarks/quality/tree_rss.py PID OUT_FILE   (writes the peak in KiB)
"""

import os
import sys
import time
from pathlib import Path


def _children():
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    return kids


def tree_rss_kib(pid: int) -> int:
    kids, total, todo = _children(), 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        todo.extend(kids.get(p, []))
    return total


def main(pid, out):
    pid, peak = int(pid), 0
    while Path(f"/proc/{pid}").exists():
        peak = max(peak, tree_rss_kib(pid))
        Path(out).write_text(f"{peak}\n")
        time.sleep(1.0)


if __name__ == "__main__":
    main(*sys.argv[1:3])
