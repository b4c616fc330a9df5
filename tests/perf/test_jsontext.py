"""perf.jsontext: orjson writes the JSON text of packets and writes; what it cannot write still goes out."""
import json

import pytest

from couples.perf import jsontext
from couples.room.packets import RoomPacket as TextPacket


def test_it_writes_the_same_json_as_the_standard_library():
    value = {"text": "Café – 你好 \"quoted\" </script>", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    assert json.loads(jsontext.dumps(value)) == value


def test_a_lone_surrogate_orjson_refuses_is_written_by_the_standard_library():
    value = {"echo": "\ud800"}
    assert json.loads(jsontext.dumps(value)) == value


def test_socket_io_packets_are_written_by_it_and_read_by_engineio_with_its_integer_guard():
    pkt = TextPacket(packet_type=2, data=["update", {"last_seq": 3, "text": "hé"}])
    assert pkt.encode() == '2["update",{"last_seq":3,"text":"hé"}]'
    with pytest.raises(ValueError):
        TextPacket(encoded_packet='2["action",' + "1" * 200 + "]")
