"""JSON text on the hot path: orjson writes it (the three updates of a turn, the state and events
of its write) several times faster than the standard library. What orjson refuses to write
(a lone surrogate echoed back in an error) is written by the standard library instead.

Reading stays with the standard library (engineio.json, which also refuses huge integers): a
client's message is small, and orjson would reject a lone surrogate while decoding the packet,
before our schemas could name the field."""
import json

import orjson
from engineio import json as _engineio_json


def dumps(obj, **kwargs) -> str:
    try:
        return orjson.dumps(obj).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(obj, **kwargs)


class PacketJSON:
    """The JSON module Socket.IO packets use (Packet.json)."""

    dumps = staticmethod(dumps)
    loads = staticmethod(_engineio_json.loads)
