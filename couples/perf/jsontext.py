"""JSON text on the hot path, written by orjson (several times faster than the standard library)
where it can; what orjson refuses (a lone surrogate echoed back in an error) is written by the
standard library. Off: COUPLES_PERF_OFF=orjson.

Reading stays with the standard library (engineio.json, which also refuses huge integers): a
client's message is small, and orjson would reject a lone surrogate while decoding the packet,
before our schemas could name the field."""
import json

import orjson
from engineio import json as _engineio_json

from . import enabled


def dumps(obj, **kwargs) -> str:
    if enabled("orjson"):
        try:
            return orjson.dumps(obj).decode()
        except (orjson.JSONEncodeError, TypeError):
            pass
    return json.dumps(obj, **kwargs)


def copy(value, walk):
    """A deep copy of JSON-shaped `value` through orjson (docs/performance.md); `walk(value)`
    copies what orjson would change or refuse (a datetime, a non-string key)."""
    if enabled("orjson"):
        try:
            return orjson.loads(orjson.dumps(value, option=_AS_IS))
        except (orjson.JSONEncodeError, TypeError):
            pass
    return walk(value)


_AS_IS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class PacketJSON:
    """The JSON module Socket.IO packets use (Packet.json)."""

    dumps = staticmethod(dumps)
    loads = staticmethod(_engineio_json.loads)
