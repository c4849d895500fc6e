#!/usr/bin/env python3
"""A real SMTP server for end-to-end tests, on 127.0.0.1 only.

Usage: sink_server.py OUT.jsonl PORT_FILE

Listens on a free loopback port, writes that port to PORT_FILE once it
accepts connections, and appends every received envelope to OUT.jsonl as
one JSON object per line: {"mail_from", "rcpt_tos", "data"} (data decoded
as UTF-8 with surrogateescape, so no byte is lost). Runs until SIGTERM or
SIGINT.
"""

import json
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


class JsonLinesHandler:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": data.decode("utf-8", "surrogateescape"),
        }
        line = json.dumps(record, ensure_ascii=True) + "\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
        return "250 OK"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sink_server.py OUT.jsonl PORT_FILE")
    out_path, port_file = sys.argv[1], sys.argv[2]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    controller = None
    for _ in range(10):
        port = free_port()
        controller = Controller(
            JsonLinesHandler(out_path), hostname=HOST, port=port
        )
        try:
            controller.start()
            break
        except OSError:
            # Someone took the port between our probe and the bind: try again.
            controller = None
    if controller is None:
        sys.exit("sink_server: no free port on 127.0.0.1")

    tmp = port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{controller.port}\n")
    os.replace(tmp, port_file)  # atomic: readers never see a partial number

    try:
        while not stop.wait(0.2):
            pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
