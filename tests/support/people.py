"""People for every suite: accounts, couples, and the therapists they consented to. This is the one
place that creates them; each suite's fixture is a thin wrapper over it.

Three ways in, for three kinds of suite:

- straight into the database (`register_people`, `form_couple`, `link_therapist`, and
  `seed_couple` which puts them together): fast, for suites about what happens after pairing,
  and for worlds the product could only reach in many steps (an ended couple, a revoked link);
- through the pairing service (`pair_and_link`, `seed_paired`): the product's own consent path,
  in-process;
- over HTTP (`sign_up`, `pair_over_api`, with `Api` against a served process or any client with
  the same `call`): nothing written behind the app's back.

Everyone is name@example.com (name.tag@example.com with a tag, so that one database can hold many
worlds), named after the first name, with the one test password."""
import uuid
from types import SimpleNamespace

import requests

PASSWORD = "correct horse battery"
THERAPIST = "theo"  # by convention Theo is the therapist; every other name is a partner


def role_of(name: str, therapists=(THERAPIST,)) -> str:
    return "therapist" if name in therapists else "partner"


# --------------------------------------------------------------------------- in the database


def make_account(email: str, role: str = "partner", display_name: str | None = None, password=PASSWORD):
    """One account through the accounts service (Argon2id, a therapist code for a therapist); the
    User row. Call in an app context."""
    from couples.accounts import service as accounts
    return accounts.register(email, password, display_name or email.split("@")[0].title(), role)


def register_people(names, *, tag: str | None = None, password=PASSWORD, therapists=(THERAPIST,)) -> dict:
    """Accounts by first name, in an app context: name@example.com, or name.tag@example.com; the
    names in `therapists` are therapists, the others partners. Returns the User rows by name."""
    return {n: make_account(f"{n}.{tag}@example.com" if tag else f"{n}@example.com", role_of(n, therapists),
                            n.title(), password) for n in names}


def tokens_for(users: dict) -> dict:
    """A bearer token for each User, by name (in an app context)."""
    from couples.accounts import service as accounts
    return {n: accounts.start_login(u, "token") for n, u in users.items()}


def form_couple(a, b, *, ended=False):
    """A couple of `a` (seat a) and `b` (seat b), written directly; `ended`: b has left it, so the
    couple is over and its past stays theirs. Call in an app context; flushed, not committed."""
    from couples.extensions import db
    from couples.models import Couple, CoupleMember, utcnow
    couple = Couple()
    db.session.add(couple)
    db.session.flush()
    for seat, user in (("a", a), ("b", b)):
        db.session.add(CoupleMember(couple_id=couple.id, user_id=user.id, seat=seat,
                                    active_user_id=None if ended else user.id,
                                    left_at=utcnow() if ended else None))
    if ended:
        couple.ended_at, couple.ended_by_id = utcnow(), b.id
    db.session.flush()
    return couple


def link_therapist(couple, therapist, *, revoked_by=None):
    """`therapist` linked to `couple` with both partners' consent, written directly; or, with
    `revoked_by`, a link that partner has revoked. Flushed, not committed."""
    from couples.extensions import db
    from couples.models import TherapistLink, utcnow
    stamp = utcnow()
    link = TherapistLink(couple_id=couple.id, therapist_id=therapist.id, consent_a_at=stamp,
                         consent_b_at=stamp, live_key=None if revoked_by else f"{couple.id}:{therapist.id}",
                         revoked_at=stamp if revoked_by else None,
                         revoked_by_id=revoked_by.id if revoked_by else None)
    db.session.add(link)
    db.session.flush()
    return link


def seed_couple(app, names=("alice", "bob", "theo"), *, tag: str | None = None, password=PASSWORD):
    """Alice (seat a) and Bob (seat b) in a couple, Theo linked with both consents, any other name
    an outsider; each with a bearer token. Returns tokens, ids (by name) and couple_id."""
    from couples.extensions import db
    with app.app_context():
        users = register_people(names, tag=tag, password=password)
        couple = form_couple(users["alice"], users["bob"])
        if THERAPIST in users:
            link_therapist(couple, users[THERAPIST])
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


# --------------------------------------------------------------------------- the pairing service


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


def seed_paired(app, names=("alice", "bob", "theo"), *, password=PASSWORD) -> SimpleNamespace:
    """Accounts for `names`; Alice and Bob paired and Theo linked through the pairing service.
    Returns the password, the emails and a bearer token of each, by name."""
    from couples.extensions import db
    with app.app_context():
        users = register_people(names, password=password)
        pair_and_link(users["alice"], users["bob"], users[THERAPIST])
        db.session.commit()
        world = SimpleNamespace(password=password, tokens=tokens_for(users),
                                emails={n: u.email for n, u in users.items()})
        db.session.remove()
    return world


# --------------------------------------------------------------------------- over HTTP


class Api:
    """Bearer-token JSON calls against one served process, asserting the status."""

    def __init__(self, base, token=None, headers=None):
        self.base, self.token, self.headers = base, token, dict(headers or {})

    def call(self, method, path, json=None, expect=(200, 201)):
        headers = {**self.headers, **({"Authorization": f"Bearer {self.token}"} if self.token else {})}
        resp = requests.request(method, self.base + path, json=json, headers=headers, timeout=15)
        assert resp.status_code in expect, f"{method} {path} -> {resp.status_code} {resp.text[:300]}"
        return resp.json() if resp.content else None


def sign_up(base, name, role=None, password=PASSWORD, headers=None):
    """A new account over HTTP (unique email) and a bearer token for it; `headers` go with both
    requests (e.g. the X-Forwarded-For a proxy would add)."""
    email = f"{name}.{uuid.uuid4().hex[:8]}@example.com"
    Api(base, headers=headers).call("POST", "/api/v1/accounts", {
        "email": email, "password": password, "display_name": name.title(), "role": role or role_of(name)},
        expect=(202,))
    token = Api(base, headers=headers).call("POST", "/api/v1/tokens", {"email": email, "password": password})["token"]
    return SimpleNamespace(email=email, token=token)


def pair_over_api(as_a, as_b, therapist_email=None) -> SimpleNamespace:
    """Over the API, each partner with their own client (an `Api`, or anything with its `call`):
    a creates the couple, b joins with the invitation's code; with `therapist_email`, a invites
    that therapist (a's consent) and b consents. Returns the couple and the link (or None)."""
    created = as_a.call("POST", "/api/v1/couple", {})
    as_b.call("POST", "/api/v1/couple/join", {"code": created["invitation"]["code"]}, expect=(200,))
    link = None
    if therapist_email:
        link = as_a.call("POST", "/api/v1/couple/therapists", {"email": therapist_email})
        as_b.call("POST", f"/api/v1/couple/therapists/{link['id']}/consent", {})
    return SimpleNamespace(couple=created["couple"], invitation=created["invitation"], link=link)
