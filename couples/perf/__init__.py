"""The measured shortcuts: each buys a stated saving (docs/performance.md) and has an off switch.

COUPLES_PERF_OFF="name,name" switches shortcuts off by name (SHORTCUTS); the code behaves the
same without them, only slower. COUPLES_DB_PREPARE=0 and COUPLES_GC_THRESHOLD=off still work.
"""
import functools
import os

SHORTCUTS = ("prepared", "joined_turn", "audience_cache", "orjson", "text_packets", "cookie_once",
             "no_url_match", "gc")


def enabled(name: str) -> bool:
    """Is this shortcut on? (All are, unless COUPLES_PERF_OFF names them.) The setting is read
    once per process: the hot path asks several times a turn."""
    return name not in _off(_SETTING)


_SETTING = os.environ.get("COUPLES_PERF_OFF", "")


@functools.cache
def _off(setting: str) -> frozenset:
    names = frozenset(n.strip() for n in setting.split(",") if n.strip())
    unknown = names - set(SHORTCUTS)
    if unknown:
        raise ValueError(f"COUPLES_PERF_OFF names unknown shortcuts: {', '.join(sorted(unknown))}")
    return names
