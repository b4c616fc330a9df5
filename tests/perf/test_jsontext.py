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


def _walk(value):
    return ("walked", value)


def test_the_engines_state_copy_is_deep_and_equal():
    from couples.exercises.state import copy_state
    state = {"run": {"data": {"greet": {"greeting": "Hé"}}, "visits": {"greet": 1}}, "list": [[1], {"a": None}]}
    copy = copy_state(state)
    assert copy == state
    copy["run"]["data"]["greet"]["greeting"] = "changed"
    copy["list"][0].append(2)
    assert state["run"]["data"]["greet"]["greeting"] == "Hé" and state["list"][0] == [1]


@pytest.mark.parametrize("value", [{"at": __import__("datetime").datetime(2026, 1, 1)}, {1: "int key"},
                                   {"echo": "\ud800"}])
def test_what_json_would_change_or_refuse_is_copied_by_walking_it(value):
    # A datetime would come back a string, an integer key a string key: copied as they are.
    assert jsontext.copy(value, _walk) == ("walked", value)
