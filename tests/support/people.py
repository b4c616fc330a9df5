"""People for the suites: accounts, a couple and the therapist both partners consented to.

Three ways in, for three kinds of suite: `seed_couple` writes them straight into the database
(fast, for suites about what happens after pairing); `pair_and_link` goes through the pairing
service (the product's own consent path, in-process); `Api` and `sign_up` go through the HTTP
API of a served process (nothing written behind the app's back)."""
import uuid
from types import SimpleNamespace

import requests

PASSWORD = "correct horse battery"
THERAPIST = "theo"  # by convention Theo is the therapist; every other name is a partner


def role_of(name: str) -> str:
    return "therapist" if name == THERAPIST else "partner"


def register_people(names, *, tag: str | None = None, password=PASSWORD) -> dict:
    """Accounts by first name, in an app context: name@example.com, or name.tag@example.com so
    that one database can hold many worlds. Returns the User rows by name."""
    from couples.accounts import service as accounts
    return {n: accounts.register(f"{n}.{tag}@example.com" if tag else f"{n}@example.com", password,
                                 n.title(), role_of(n)) for n in names}


def tokens_for(users: dict) -> dict:
    """A bearer token for each User, by name (in an app context)."""
    from couples.accounts import service as accounts
    return {n: accounts.start_login(u, "token") for n, u in users.items()}


def seed_couple(app, names=("alice", "bob", "theo"), *, tag: str | None = None, password=PASSWORD):
    """Alice (seat a) and Bob (seat b) in a couple, Theo linked with both consents, any other name
    an outsider; each with a bearer token. Returns tokens, ids (by name) and couple_id."""
    from couples.extensions import db
    from couples.models import Couple, CoupleMember, TherapistLink, utcnow
    with app.app_context():
        users = register_people(names, tag=tag, password=password)
        couple = Couple()
        db.session.add(couple)
        db.session.flush()
        for seat, name in (("a", "alice"), ("b", "bob")):
            uid = users[name].id
            db.session.add(CoupleMember(couple_id=couple.id, user_id=uid, seat=seat, active_user_id=uid))
        if THERAPIST in users:
            stamp, tid = utcnow(), users[THERAPIST].id
            db.session.add(TherapistLink(couple_id=couple.id, therapist_id=tid, consent_a_at=stamp,
                                         consent_b_at=stamp, live_key=f"{couple.id}:{tid}"))
        db.session.commit()
        world = SimpleNamespace(tokens=tokens_for(users), ids={n: u.id for n, u in users.items()},
                                couple_id=couple.id)
        db.session.remove()
    return world


def seed_session(app, url: str, names=("alice", "bob", "theo")):
    """`seed_couple` with a fresh tag, then Alice starts a practice session over HTTP (so the
    served process is the one that creates it); adds session_id."""
    world = seed_couple(app, names, tag=uuid.uuid4().hex[:8])
    started = Api(url, world.tokens["alice"]).call("POST", "/api/v1/sessions", {}, expect=(201,))
    world.session_id = started["session"]["id"]
    return world


def pair_and_link(a, b, therapist):
    """Through the pairing service, as the product does it: a creates the couple and invites b,
    b joins, a invites the therapist, both consent. Call in an app context."""
    from couples.pairing import service as pairing
    pairing.create_couple(a)
    pairing.join(b, pairing.new_invitation(a).code)
    link = pairing.invite_therapist(a, email=therapist.email)
    pairing.consent(a, link.id)
    pairing.consent(b, link.id)
    return link


class Api:
    """Bearer-token JSON calls against one served process, asserting the status."""

    def __init__(self, base, token=None):
        self.base, self.token = base, token

    def call(self, method, path, json=None, expect=(200, 201)):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        resp = requests.request(method, self.base + path, json=json, headers=headers, timeout=15)
        assert resp.status_code in expect, f"{method} {path} -> {resp.status_code} {resp.text[:300]}"
        return resp.json() if resp.content else None


def sign_up(base, name, role=None, password=PASSWORD):
    """A new account over HTTP (unique email) and a bearer token for it."""
    email = f"{name}.{uuid.uuid4().hex[:8]}@example.com"
    Api(base).call("POST", "/api/v1/accounts", {"email": email, "password": password,
                                                  "display_name": name.title(), "role": role or role_of(name)})
    token = Api(base).call("POST", "/api/v1/tokens", {"email": email, "password": password})["token"]
    return SimpleNamespace(email=email, token=token)
