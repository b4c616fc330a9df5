"""Socket.IO packets as this server reads and writes them.

Received: an event whose name is reserved (the library's own lifecycle names), or not a name at
all, is renamed REFUSED_EVENT before any handler is looked up, so only the catch-all answers it.
Written: JSON text only, by perf.jsontext; `text_packets` skips the library's walk through every
outgoing payload looking for bytes (we never send any)."""
from socketio.packet import BINARY_EVENT, EVENT, Packet

from ..perf import enabled
from ..perf.jsontext import PacketJSON

# Event names a client may never send: the library dispatches an EVENT packet named "connect"
# or "disconnect" straight to the lifecycle handlers (a client could delete its own connection
# row), and Flask-SocketIO gives "message", "json" and "*" their own meaning. The rest are the
# client libraries' own lifecycle names, refused so that no future handler can be reached by them.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "disconnecting", "message",
                             "json", "*", "error", "newListener", "removeListener", "ping", "pong",
                             "reconnect", "reconnect_attempt", "reconnect_error", "reconnect_failed"})
# What a refused name is renamed to on arrival: no handler has it, so the catch-all answers it.
REFUSED_EVENT = "refused event"


class RoomPacket(Packet):
    """The serializer given to Socket.IO: its decode is the library's documented hook into
    reading packets, so the guard runs before any handler is looked up, on every transport."""

    uses_binary_events = not enabled("text_packets")
    json = PacketJSON

    def decode(self, encoded_packet):
        attachments = super().decode(encoded_packet)
        if self.packet_type in (EVENT, BINARY_EVENT):
            data = self.data
            if not isinstance(data, list) or not data:
                self.data = [REFUSED_EVENT]
            elif not isinstance(data[0], str) or data[0] in RESERVED_EVENTS or data[0] == REFUSED_EVENT:
                self.data = [REFUSED_EVENT, *data[1:]]
        return attachments
