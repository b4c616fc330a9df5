"""The benchmark's target check (`bench/run.py --pairs N`): the app's p99 is compared with the relay
run just before it, never with a relay run from another minute of the host's day."""
from bench.run import paired_rows, pairs_summary


def _result(row, p99, errors=0):
    return {"row": row, "target": "relay" if row.startswith("relay") else "app",
            "partner": {"p50": 1.0, "p99": p99}, "error_count": errors}


def test_pairs_alternate_the_relay_and_the_app_at_the_target_load():
    rows = paired_rows(3)
    assert [r.name for r in rows] == [
        "relay-gevent@500#1", "pg-gevent-1p@500#1", "relay-gevent@500#2", "pg-gevent-1p@500#2",
        "relay-gevent@500#3", "pg-gevent-1p@500#3"]
    assert {(r.target, r.mode, r.procs, r.sessions) for r in rows} == {
        ("relay", "gevent", 1, 500), ("app", "gevent", 1, 500)}
    assert {r.db for r in rows if r.target == "app"} == {"postgresql"}


def test_each_app_run_is_divided_by_its_own_pairs_relay():
    results = [_result("relay-gevent@500#1", 10.0), _result("pg-gevent-1p@500#1", 25.0),
               _result("relay-gevent@500#2", 40.0), _result("pg-gevent-1p@500#2", 60.0),
               _result("relay-gevent@500#3", 10.0), _result("pg-gevent-1p@500#3", 45.0)]
    assert pairs_summary(results) == ("- pairs: app/relay p99 2.50x, 1.50x, 4.50x; median 2.50x; "
                                      "within 3x in 2 of 3")


def test_a_pair_with_errors_or_a_failed_run_is_left_out_not_counted_as_met():
    results = [_result("relay-gevent@500#1", 10.0), _result("pg-gevent-1p@500#1", 20.0, errors=2),
               {"name": "relay-gevent@500#2", "failure": "boom"}, _result("pg-gevent-1p@500#2", 20.0)]
    assert pairs_summary(results) == "- pairs: no complete pair without errors"
