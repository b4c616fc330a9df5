"""Process settings a server applies once it has started (app.py, and the bench's relay, so that
the two are compared under the same collector)."""
import os


def tune_gc() -> None:
    """Fewer, shorter collector pauses with many sockets: move everything alive after start-up
    (modules, app, metadata) out of the collector's reach, and collect young objects less often.
    COUPLES_GC_THRESHOLD="g0,g1,g2" overrides the thresholds; "off" leaves the collector as is."""
    import gc
    setting = os.environ.get("COUPLES_GC_THRESHOLD", "10000,20,20")
    if setting == "off":
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*(int(x) for x in setting.split(",")))
