"""A TCP relay on a loopback port: bytes in both directions, nothing interpreted. Stands for the
network path to a real server, so a test can take that server "down" (relay not listening:
connection refused) and bring it back without restarting the server."""

from __future__ import annotations

import socket
import threading


class Relay:
    """Relays connections on 127.0.0.1:`port` to 127.0.0.1:`target` while started."""

    def __init__(self, port: int, target: int) -> None:
        self.port, self.target = port, target
        self.listener: socket.socket | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> Relay:
        """Starts listening (connections are then accepted and relayed)."""
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self.thread = threading.Thread(target=self._accept, args=(self.listener,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stops listening; relayed connections end when either side closes."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
