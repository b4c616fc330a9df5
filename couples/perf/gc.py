"""The collector's settings for a serving process (app.py, and the bench's relay, so that the two
are compared under the same collector). Off: COUPLES_PERF_OFF=gc or COUPLES_GC_THRESHOLD=off."""
import os

from . import enabled


def tune_gc() -> None:
    """Fewer, shorter collector pauses with many sockets: move everything alive after start-up
    (modules, app, metadata) out of the collector's reach, and collect young objects less often.
    COUPLES_GC_THRESHOLD="g0,g1,g2" overrides the thresholds."""
    import gc
    setting = os.environ.get("COUPLES_GC_THRESHOLD", "10000,20,20")
    if setting == "off" or not enabled("gc"):
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*(int(x) for x in setting.split(",")))
