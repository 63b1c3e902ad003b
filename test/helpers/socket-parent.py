#!/usr/bin/env python3
# Holds listener sockets the way systemd's localdns.socket does and runs the service on them:
# for each ADDR (host:port) a UDP socket and a listening TCP socket, passed as fds 3, 4, ... with
# LISTEN_FDS / LISTEN_PID set (sd_listen_fds(3)). Reads commands on stdin, one per line:
#   start    run the service (argv after "--")
#   restart  SIGTERM the running one, wait for it to exit, start a new one
#   stop     SIGTERM it and exit
# Prints "started PID" and "exited CODE" lines.
import os, signal, socket, subprocess, sys

sep = sys.argv.index("--")
addrs, argv = sys.argv[1:sep], sys.argv[sep + 1:]
socks = []
for a in addrs:
    host, port = a.rsplit(":", 1)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    u.bind((host.strip("[]"), int(port)))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((host.strip("[]"), int(port)))
    t.listen(128)
    socks += [u, t]

def place_fds():
    # in the child: every socket to a high number first (no clash), then to 3, 4, ...
    high = [os.dup2(s.fileno(), 200 + i) for i, s in enumerate(socks)]
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i)
        os.set_inheritable(3 + i, True)
    for fd in high:
        os.close(fd)

child = None
def start():
    global child
    env = dict(os.environ, LISTEN_FDS=str(len(socks)))
    env.pop("LISTEN_PID", None)
    # LISTEN_PID must be the service's own pid: sh sets it and execs in place, keeping the pid
    child = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh"] + argv, env=env, preexec_fn=place_fds, close_fds=False)
    print(f"started {child.pid}", flush=True)

def stop():
    if child and child.poll() is None:
        child.send_signal(signal.SIGTERM)
        code = child.wait()
        print(f"exited {code}", flush=True)

for line in sys.stdin:
    cmd = line.strip()
    if cmd == "start": start()
    elif cmd == "restart": stop(); start()
    elif cmd == "stop": stop(); break
stop()
