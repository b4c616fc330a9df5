"""Revocation is immediate (issue 21, item 2): once a partner's revoke is acknowledged, no event of
the session ever reaches the therapist's socket, while the partners go on acting (a private
pause reason each time). Served processes, both databases, one process and three behind Redis;
the revoking request cuts the socket itself, on whichever process holds it."""
import random
from types import SimpleNamespace

import pytest

from support.revocation import revocation_trial
from support.server import EASY_LOGIN, database, serve_many
from support.services import redis_database

TRIALS = 12
REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture(scope="module", params=["sqlite-1", "postgresql-1", "postgresql-3"])
def deployment(request, tmp_path_factory):
    kind, count = request.param.split("-")
    tmp = tmp_path_factory.mktemp(request.param)
    env = {"SECRET_KEY": "revocation-shared", **EASY_LOGIN}
    with database(tmp, postgresql=kind == "postgresql", prefix="couples_rev_") as (url, app):
        if int(count) > 1:
            env["REDIS_URL"] = redis_database(REDIS_URL)
        with serve_many(tmp, url, int(count), env=env) as procs:
            yield SimpleNamespace(app=app, urls=[p.url for p in procs], db_url=url, procs=procs, name=request.param)
    for p in procs:
        assert "Traceback" not in p.output(), p.output()[-4000:]


def test_after_the_revoke_is_acknowledged_nothing_reaches_the_therapist(deployment):
    rng = random.Random(21)
    after_actions = after_events = 0
    for trial in range(TRIALS):
        result = revocation_trial(deployment.app, deployment.urls, deployment.db_url, rng)
        assert result.cut, f"trial {trial}: the therapist's socket was not cut"
        assert result.leaked == [], f"trial {trial}: sent to the therapist after the revoke: {result.leaked}"
        assert result.problems == []
        after_actions += result.after_actions
        after_events += result.after_events
    # The trials did test something: the partners acted after each revoke was acknowledged.
    assert after_actions >= TRIALS and after_events >= TRIALS
    print(f"\n{deployment.name}: {TRIALS} trials, {after_actions} actions and {after_events} events "
          "the therapist would have seen were sent after the revoke's ack; none reached him")
