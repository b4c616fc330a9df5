"""A small TCP proxy for fault injection (loopback only), in the spirit of Toxiproxy.

- `cut()`: reset every open connection at once (RST, no goodbye), like a dropped network.
- `hold()` / `release()`: a black hole. Nothing is forwarded and new connections are accepted
  but not passed on, until `release()`, when held bytes flow again (a partition that heals,
  TCP-style). `reject()` instead refuses new connections and resets open ones.
- WebSocket-aware triggers (client->server frames are unmasked to look at them):
  `arm("after_send", "action")`: forward the next client frame naming the event, then cut
  (the server got the action, the ack cannot arrive: "mid-submit before the ack");
  `arm("drop_send", "action")`: cut instead of forwarding it (the action never arrives);
  `arm("drop_ack")`: cut instead of forwarding the next ack frame from the server.
"""
import socket
import struct
import threading

from .server import free_port


def _rst(sock):
    """Reset: linger 0 (RST where the kernel can), and shutdown first so that a thread blocked
    in recv() on this socket wakes up (close() alone would leave the connection open)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class WsFrames:
    """Incremental WebSocket frame reader (after the HTTP upgrade) -> list of text payloads."""

    def __init__(self):
        self.buf = b""
        self.http_done = False

    def feed(self, data: bytes) -> list:
        self.buf += data
        out = []
        if not self.http_done:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                return out
            self.buf, self.http_done = self.buf[i + 4:], True
        while True:
            b = self.buf
            if len(b) < 2:
                return out
            masked, n, i = b[1] & 0x80, b[1] & 0x7F, 2
            if n == 126:
                if len(b) < 4:
                    return out
                n, i = struct.unpack(">H", b[2:4])[0], 4
            elif n == 127:
                if len(b) < 10:
                    return out
                n, i = struct.unpack(">Q", b[2:10])[0], 10
            key = b""
            if masked:
                if len(b) < i + 4:
                    return out
                key, i = b[i:i + 4], i + 4
            if len(b) < i + n:
                return out
            payload = b[i:i + n]
            if key:
                payload = bytes(c ^ key[j % 4] for j, c in enumerate(payload))
            self.buf = b[i + n:]
            out.append(payload.decode("utf-8", "replace"))


class Proxy:
    def __init__(self, target: tuple, port: int | None = None):
        self.target = target
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.conns = []  # (client_sock, upstream_sock)
        self.flowing = threading.Event()
        self.flowing.set()
        self.rejecting = False
        self.trigger = None  # (mode, word)
        self.fired = threading.Event()
        self.cuts = 0
        self.muted = []  # pairs whose server->client bytes are discarded (the ack is doomed)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(128)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    # ---- control
    def cut(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for c, u in conns:
            _rst(c)
            if u is not None:
                _rst(u)
        self.cuts += 1
        return len(conns)

    def hold(self):
        self.flowing.clear()

    def release(self):
        self.flowing.set()

    def reject(self, on=True):
        self.rejecting = on
        if on:
            self.cut()

    def arm(self, mode, word=None):
        self.fired.clear()
        self.trigger = (mode, word)

    def disarm(self):
        self.trigger = None

    def close(self):
        self.closed = True
        self.flowing.set()
        _rst(self.listener)
        self.cut()

    # ---- plumbing
    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        if self.rejecting:
            _rst(c)
            return
        self.flowing.wait()  # a black hole: the connection hangs until released
        if self.rejecting or self.closed:
            _rst(c)
            return
        try:
            u = socket.create_connection(self.target, timeout=5)
            u.settimeout(None)
        except OSError:
            _rst(c)
            return
        pair = (c, u)
        with self.lock:
            self.conns.append(pair)
        threading.Thread(target=self._pump, args=(c, u, pair, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(u, c, pair, False), daemon=True).start()

    def _drop(self, pair):
        with self.lock:
            if pair in self.conns:
                self.conns.remove(pair)
        for s in pair:
            _rst(s)
        self.cuts += 1
        self.fired.set()
        self.trigger = None

    def _pump(self, src, dst, pair, c2s):
        frames = WsFrames()
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for s in pair:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            self.flowing.wait()
            if not c2s and pair in self.muted:
                continue
            trig = self.trigger
            if trig is not None:
                mode, word = trig
                texts = frames.feed(data)
                if c2s and mode in ("after_send", "drop_send") and any(f'"{word}"' in t for t in texts):
                    if mode == "after_send":  # the server gets it; nothing comes back; then RST
                        self.muted.append(pair)
                        try:
                            dst.sendall(data)
                        except OSError:
                            pass
                        self.trigger = None
                        threading.Timer(0.1, self._drop, args=(pair,)).start()
                        return
                    self._drop(pair)
                    return
                if not c2s and mode == "drop_ack" and any(t.startswith("43") for t in texts):
                    self._drop(pair)
                    return
            else:
                frames.feed(data)
            try:
                dst.sendall(data)
            except OSError:
                return
