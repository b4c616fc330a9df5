"""Every shortcut has an off switch (docs/performance.md), and the app behaves the same without
them: the in-process socket suite and the vocabulary suite pass with all of them off, in a fresh
process (several are read once, at import or at app creation)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from couples import perf

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_behaves_the_same_with_every_shortcut_off():
    env = {**os.environ, "COUPLES_PERF_OFF": ",".join(perf.SHORTCUTS), "COUPLES_DB_PREPARE": "0"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/room/test_sockets_inprocess.py", "tests/room/test_room_service.py",
                           "tests/review/test_vocabulary.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_an_unknown_shortcut_name_is_refused():
    with pytest.raises(ValueError, match="unknown shortcuts: nope"):
        perf._off("orjson,nope")
    assert perf._off("orjson, gc") == {"orjson", "gc"}
