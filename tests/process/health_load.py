#!/usr/bin/env python3
"""Holds IDLE idle and SLOW slowloris connections open against a health server, re-opening any
the server closes, and meanwhile sends PROBES probes (GET /health, a new connection each, 100 ms
apart), timing each from connect to the whole answer.

    health_load.py PORT --idle 1000 --slow 50 --probes 20 [--seconds-before 2] [--hold FILE]

Prints one line per probe and a summary line "load: ..." with the statuses and the latencies
(median, max). With --hold FILE it keeps the load up after the probes until FILE exists, then
probes again ("after" probes), so a script can restart the engine under the same load.
Exit 0 when it ran; the caller judges the figures. Exit 2 on a usage error.
"""
import argparse
import os
import resource
import selectors
import socket
import statistics
import sys
import threading
import time


LOAD_SOURCE = "127.0.0.2"


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


class Load:
    """Idle connections send nothing; slow ones send a request head one byte a second."""

    def __init__(self, port, idle, slow):
        self.port, self.idle, self.slow = port, idle, slow
        self.sel = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.reopened = 0
        self.open_now = 0

    def connect(self, kind):
        s = socket.socket()
        s.setblocking(False)
        try:
            # From 127.0.0.2, another host as the server sees it (the probes come from 127.0.0.1,
            # as a kubelet's would from its own address). And the ~80,000 reconnections take
            # their ephemeral ports there, so none can hold a 127.0.0.1 port that the restarted
            # engine must listen on again. The port is chosen at connect
            # (IP_BIND_ADDRESS_NO_PORT), sharing ports across destinations.
            s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24), 1)
            s.bind((LOAD_SOURCE, 0))
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return False
        state = {"kind": kind, "sent": 0, "next": time.monotonic()}
        self.sel.register(s, selectors.EVENT_READ, state)
        return True

    def run(self):
        for _ in range(self.idle):
            self.connect("idle")
        for _ in range(self.slow):
            self.connect("slow")
        head = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 4000
        while not self.stop.is_set():
            now = time.monotonic()
            for key, _ in self.sel.select(timeout=0.05):
                try:
                    data = key.fileobj.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:  # closed by the server: open another of the same kind
                    kind = key.data["kind"]
                    self.sel.unregister(key.fileobj)
                    key.fileobj.close()
                    self.reopened += 1
                    self.connect(kind)
            for key in list(self.sel.get_map().values()):
                st = key.data
                if st["kind"] == "slow" and now >= st["next"] and st["sent"] < len(head):
                    try:
                        key.fileobj.send(head[st["sent"]:st["sent"] + 1])
                        st["sent"] += 1
                    except OSError:
                        pass
                    st["next"] = now + 1.0
            self.open_now = len(self.sel.get_map())
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()


def probe(port):
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    except OSError:
        status = 0
    return status, (time.monotonic() - t0) * 1000


def probes(port, n, label):
    results = []
    for i in range(n):
        status, ms = probe(port)
        results.append((status, ms))
        print(f"{label} probe {i + 1}: status {status} in {ms:.1f} ms", flush=True)
        time.sleep(0.1)
    return results


def summary(label, results, load):
    lat = [ms for _, ms in results]
    statuses = ",".join(str(s) for s, _ in results)
    print(f"load: {label} probes={len(results)} statuses={statuses} "
          f"median_ms={statistics.median(lat):.1f} max_ms={max(lat):.1f} "
          f"open_connections={load.open_now} reopened_by_client={load.reopened}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=50)
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--seconds-before", type=float, default=2.0)
    ap.add_argument("--hold")
    a = ap.parse_args()
    raise_fd_limit(a.idle + a.slow + 256)
    load = Load(a.port, a.idle, a.slow)
    t = threading.Thread(target=load.run, daemon=True)
    t.start()
    time.sleep(a.seconds_before)
    summary("under_load", probes(a.port, a.probes, "under_load"), load)
    if a.hold:
        while not os.path.exists(a.hold):
            time.sleep(0.1)
        summary("after", probes(a.port, a.probes, "after"), load)
    load.stop.set()
    t.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
