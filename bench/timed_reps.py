#!/usr/bin/env python3
"""timed_reps.py N FILE [NAME=VALUE...] CMD...: run CMD (with those variables set) N times, one
process after the other, and write one line "wall_s cpu_s maxrss_kib" per process to FILE
(run.sh's compile readings).

The wall time is read around the process's spawn and reaping (perf_counter: microseconds, where
/usr/bin/time's %e steps by 10 ms); CPU time (user + system) and the peak resident set are the
process's own, from wait4. Its standard output is discarded. A run that fails (cannot start,
exits non-zero, killed by a signal) is reported on stderr and leaves no line; like run.sh's
`timed`, the script still exits 0 so that the benchmark carries on (the report says which
readings are missing). The variables are set here rather than through env(1): one exec less in
the time measured."""
import os
import sys
import time


def usage(msg):
    print(f"timed_reps.py: {msg}\nusage: timed_reps.py N FILE [NAME=VALUE...] CMD...", file=sys.stderr)
    sys.exit(2)


def is_assignment(word):
    name, eq, _ = word.partition("=")
    return eq and name.isidentifier()


def main():
    if len(sys.argv) < 4:
        usage("too few arguments")
    try:
        n = int(sys.argv[1])
    except ValueError:
        n = 0
    if n < 1:
        usage(f"N must be a positive whole number, not '{sys.argv[1]}'")
    path, cmd = sys.argv[2], sys.argv[3:]
    env = dict(os.environ)
    while cmd and is_assignment(cmd[0]):
        name, value = cmd.pop(0).split("=", 1)
        env[name] = value
    if not cmd:
        usage("no command")
    try:
        out = open(path, "w")  # before the runs: a path that cannot be written fails at once
    except OSError as e:
        usage(f"cannot write {path}: {e.strerror}")
    devnull = os.open(os.devnull, os.O_WRONLY)
    what = " ".join(cmd)
    with out:
        for _ in range(n):
            t0 = time.perf_counter()
            try:
                pid = os.posix_spawnp(cmd[0], cmd, env, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
            except OSError as e:
                print(f"timed_reps.py: cannot run {what}: {e.strerror}", file=sys.stderr)
                continue
            _, status, ru = os.wait4(pid, 0)
            wall = time.perf_counter() - t0
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                how = f"exit status {code}" if code > 0 else f"signal {-code}"
                print(f"timed_reps.py: failed ({how}): {what}", file=sys.stderr)
                continue
            out.write(f"{wall:.4f} {ru.ru_utime + ru.ru_stime:.4f} {ru.ru_maxrss}\n")


if __name__ == "__main__":
    main()
