#!/usr/bin/python3
"""A TCP proxy between berth and a registry, for the bad-network tests.

cut_proxy.py LISTEN_PORT UPSTREAM_PORT MODE_FILE LOG_FILE

Per connection it forwards both ways. MODE_FILE (read at each connection)
says what to do once a blob GET was seen on the connection:
  pass         forward everything
  cut N        close the connection after N more bytes from upstream
  slow N       forward N bytes per second from upstream
Every request line and Range header from the client goes to LOG_FILE.
"""
import socket, sys, threading, time

listen_port, upstream_port, mode_file, log_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
log_lock = threading.Lock()


def log(line):
    with log_lock, open(log_file, "a") as f:
        f.write(line + "\n")


def handle(client):
    try:
        mode = open(mode_file).read().split()
    except OSError:
        mode = ["pass"]
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    state = {"blob": False, "closed": False}

    def close():
        state["closed"] = True
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def up():  # client -> upstream
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                for line in data.split(b"\r\n"):
                    if line.startswith((b"GET ", b"HEAD ", b"PUT ", b"POST ", b"PATCH ")) or line.lower().startswith(b"range:"):
                        log(line.decode(errors="replace"))
                if b"GET " in data and b"/blobs/sha256:" in data:
                    state["blob"] = True
                upstream.sendall(data)
        except OSError:
            pass
        close()

    def down():  # upstream -> client
        sent = 0
        try:
            while not state["closed"]:
                data = upstream.recv(8192 if mode[0] == "slow" else 65536)
                if not data:
                    break
                if state["blob"] and mode[0] == "cut":
                    room = int(mode[1]) - sent
                    if room <= 0:
                        break
                    data = data[:room]
                    sent += len(data)
                    client.sendall(data)
                    if sent >= int(mode[1]):
                        break
                    continue
                if state["blob"] and mode[0] == "slow":
                    time.sleep(len(data) / float(mode[1]))
                client.sendall(data)
        except OSError:
            pass
        close()

    threading.Thread(target=up, daemon=True).start()
    threading.Thread(target=down, daemon=True).start()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
