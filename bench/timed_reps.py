#!/usr/bin/env python3
"""timed_reps.py N FILE [NAME=VALUE...] CMD...: run CMD (with those variables set) N times, one process after the other, and write one
line "wall_s cpu_s maxrss_kib" per process to FILE (run.sh's compile readings).

The wall time is read around the process's spawn and reaping (perf_counter: microseconds, where
/usr/bin/time's %e steps by 10 ms); CPU time (user + system) and the peak resident set are the
process's own, from wait4. Its standard output is discarded; a failing run is reported on stderr
and leaves no line. The variables are set here rather than through env(1): one exec less in
the time measured."""
import os
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: timed_reps.py N FILE [NAME=VALUE...] CMD...")
    n, path, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    env = dict(os.environ)
    while cmd and "=" in cmd[0] and not cmd[0].startswith("="):
        name, value = cmd.pop(0).split("=", 1)
        env[name] = value
    if not cmd:
        sys.exit("timed_reps.py: no command")
    lines = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    for _ in range(n):
        t0 = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, env, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"timed_reps.py: failed: {' '.join(cmd)}", file=sys.stderr)
            continue
        lines.append(f"{wall:.4f} {ru.ru_utime + ru.ru_stime:.4f} {ru.ru_maxrss}\n")
    with open(path, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
