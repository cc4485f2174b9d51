#!/usr/bin/env python3
"""Connections per second and latency through one TCP address, for bench/net.

  conn_rate.py serve PORT            accept, write one byte, close (forever)
  conn_rate.py client HOST PORT SECONDS
      one connection at a time for SECONDS: connect, read the byte, close.
      Prints "CONN_PER_S MEAN_US P99_US".
  conn_rate.py wait HOST PORT SECONDS
      until a connection gets its byte (the server, and a proxy in front of
      it, listen), or fails after SECONDS.
"""
import socket
import sys
import time


def serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1024)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(b"x")
        finally:
            c.close()


def client(host, port, seconds):
    lat = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        c = socket.create_connection((host, port), timeout=5)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST: no TIME_WAIT pile-up
        if c.recv(1) != b"x":
            raise SystemExit("bad answer")
        c.close()
        lat.append(time.perf_counter() - t0)
    lat.sort()
    rate = len(lat) / seconds
    mean = sum(lat) / len(lat) * 1e6
    p99 = lat[int(len(lat) * 0.99)] * 1e6
    print(f"{rate:.0f} {mean:.0f} {p99:.0f}")


def wait(host, port, seconds):
    end = time.perf_counter() + seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=1) as c:
                if c.recv(1) == b"x":
                    return
        except OSError:
            pass
        if time.perf_counter() > end:
            raise SystemExit(f"nothing answers on {host}:{port} after {seconds} s")
        time.sleep(0.02)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif sys.argv[1] == "wait":
        wait(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
