"""The gentle hints' matching rule is written twice: couples/exercises/inputs.hints_for (Python)
and static/js/room/hints.js `hintsFor` (what the room shows as a person types). Both must give
the same hints for the same field and text; Node runs the room's two functions on the needs
request's described fields."""
import json
import re
import shutil
import subprocess

from couples.exercises import engine
from support.services import service_unavailable
from support.server import ROOT

TEXTS = ["You ALWAYS leave it", "you\u2019d better", "I need you to listen", "ignored",
         "taken for granted!", "hallways", "caf\u00e9 never", "", "that", "you-must",
         "you  have\tto wash up", "I feel that you don't care", "unused", "Would you be willing?"]


def room_functions() -> str:
    src = (ROOT / "static" / "js" / "room" / "hints.js").read_text()
    return "\n".join(re.search(rf"function {name}\(.*?\n}}\n", src, re.S).group(0)
                     for name in ("wordsOf", "hintsFor"))


def test_the_room_and_the_engine_match_hints_alike():
    if shutil.which("node") is None:  # make run and make test need it (npm): never silently skipped in CI
        service_unavailable("Node.js (the room's rule runs in it)", FileNotFoundError("node"))
    ex = engine.EXERCISES["needs"]
    cases = [(f, text) for part in ("observation", "feeling", "need", "request")
             for f in engine.describe(ex.step(part).schema) for text in TEXTS]
    script = (room_functions() + f"\nconst cases = {json.dumps(cases)};\n"
              "console.log(JSON.stringify(cases.map(([f, t]) => hintsFor(f, t))));")
    out = subprocess.run([shutil.which("node"), "-e", script], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    room = json.loads(out.stdout)
    python = [engine.hints_for(f, text) for f, text in cases]
    assert room == python
    assert sum(bool(h) for h in python) > len(cases) // 4  # the cases do match, not only miss
