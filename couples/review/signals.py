"""Safety signals: what in a couple's sessions asks for their linked therapist's attention.

A signal is not stored twice: it is an event of the session log meant for the therapist, of one
of the KINDS below (the one place that says what a signal is: adding a kind is one entry). Only
a therapist's read marks are stored (`signal_reads`). The turn's write path is untouched.

Who sees them: a therapist, of the couples whose link to them is active now (access.py); never a
partner, and never the other partner. So the audit entries are chosen with care: every list of a
couple's signals shown to a therapist is recorded as `signals_read` about the couple (written on
every such view, whether or not there is a signal, so the partners' audit page tells nothing
about what was in it); marking signals read is recorded without the couple's id (subject
`signal:<id>` or `couple:<id>`), so it is never listed to the partners: that a mark was made
would tell one partner that the other had raised something. Unread counts (the dashboards)
are not recorded.

Finding them stays cheap: the partial index `ix_session_events_signals` (migration a4c7e2b9d8f1)
holds only events of these types, and `_of_a_signal_kind()` renders the same list into the query
so that SQLite sees the index applies. A new kind works at once; for it to stay on the index,
add a migration that recreates the index with the longer list (tests/review/test_signals.py
checks the plan).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import access
from ..errors import DomainError
from ..extensions import db
from ..models import Couple, PracticeSession, SessionEvent, SignalRead, User, utcnow
from ..pairing import service as pairing
from ..privacy import audit
from ..room import sessions


@dataclass(frozen=True)
class Kind:
    """One kind of signal: whose it is, and what they did, in the therapist's plain words."""

    who: str                   # the data field holding the partner's seat (or a list of seats)
    says: str                  # what they did, after their names; {field} slots from the data
    words: str | None = None   # the data field holding the partner's own words, if any
    flagged: bool = False      # a signal only when the partner marked it `for_therapist`


KINDS = {
    "safety_concern": Kind("partner", "said it did not feel safe to practise today"),
    "return_missed": Kind("missing", "did not come back from a time-out"),
    "distress_flagged": Kind("partner", "rated their distress {rating} of 10"),
    "pause_reason": Kind("by", "left a note for you when pausing", words="reason", flagged=True),
    "end_reason": Kind("by", "left a note for you when ending the session", words="reason", flagged=True),
}
TYPES = tuple(KINDS)
SEATS = ("a", "b")


def is_signal(type_: str, audience, data) -> bool:
    """The predicate: an event of a signal kind, meant for the therapist, not erased (an account
    deletion), and, for a partner's note, marked by them for the therapist."""
    kind = KINDS.get(type_)
    return (kind is not None and "therapist" in (audience or ()) and isinstance(data, dict)
            and not data.get("erased") and (not kind.flagged or data.get("for_therapist") is True))


@dataclass(frozen=True)
class Signal:
    """One signal as a therapist reads it."""

    id: int
    couple_id: int
    session: str            # the session's public id
    at: datetime
    type: str
    partners: tuple         # ((seat, display name), ...)
    says: str
    words: str | None
    rating: int | None
    return_at: str | None
    read_at: datetime | None

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.partners]

    @property
    def text(self) -> str:
        """The whole signal in one plain sentence (the page isolates the names and words itself)."""
        words = f": \u201c{self.words}\u201d" if self.words else ""
        return f"{' and '.join(self.names) or 'A partner'} {self.says}{words}."


class _Slots(dict):
    def __missing__(self, key):
        return "?"


def _signal(row, names: dict) -> Signal:
    kind, data = KINDS[row.type], row.data
    seats = data.get(kind.who)
    seats = [s for s in (seats if isinstance(seats, list) else [seats]) if s in SEATS]
    rating = data.get("rating")
    rating = rating if isinstance(rating, int) and not isinstance(rating, bool) else None
    words = data.get(kind.words) if kind.words else None
    return Signal(id=row.id, couple_id=row.couple_id, session=row.public_id, at=row.created_at, type=row.type,
                  partners=tuple((s, names[s]) for s in seats), says=kind.says.format_map(_Slots(data)),
                  words=words if isinstance(words, str) and words else None, rating=rating,
                  return_at=data.get("return_at") if isinstance(data.get("return_at"), str) else None,
                  read_at=row.read_at)


# --------------------------------------------------------------------------- finding them


def _of_a_signal_kind():
    """`type IN ('safety_concern', ...)` with the types written into the SQL, as the partial
    index's WHERE is: SQLite uses a partial index only for a query whose WHERE has its terms."""
    return SessionEvent.type.in_(bindparam("signal_types", list(TYPES), expanding=True, literal_execute=True))


def _candidates(therapist_id: int):
    """Events of a signal kind, their session, and this therapist's read mark (or NULL)."""
    return (select(SessionEvent.id, SessionEvent.type, SessionEvent.audience, SessionEvent.data,
                   SessionEvent.created_at, PracticeSession.couple_id, PracticeSession.public_id,
                   SignalRead.read_at)
            .join(PracticeSession, PracticeSession.id == SessionEvent.session_id)
            .outerjoin(SignalRead, and_(SignalRead.event_id == SessionEvent.id,
                                        SignalRead.therapist_id == therapist_id))
            .where(_of_a_signal_kind()))


def _rows(therapist_id: int, couple_ids, state: str):
    """The signal rows of these couples, newest first; `state`: "unread", "read" or "all"."""
    if not couple_ids:
        return []
    query = _candidates(therapist_id).where(PracticeSession.couple_id.in_(list(couple_ids)))
    if state == "unread":
        query = query.where(SignalRead.id.is_(None))
    elif state == "read":
        query = query.where(SignalRead.id.is_not(None))
    query = query.order_by(SessionEvent.created_at.desc(), SessionEvent.id.desc())
    return [row for row in db.session.execute(query) if is_signal(row.type, row.audience, row.data)]


def linked(therapist: User, couple_id: int | None = None) -> list[int]:
    """The couples whose signals the therapist may see: all linked ones, or the one asked for
    (403 `therapist_only`, or 403 `no_consent` when that couple's link is not active)."""
    pairing.require_therapist(therapist)
    if couple_id is None:
        return access.linked_couple_ids(therapist)
    pairing.require_active_link(therapist, couple_id)
    return [couple_id]


def unread_counts(therapist: User, couple_ids=None) -> dict[int, int]:
    """couple id -> how many of its signals this therapist has not marked read (linked couples)."""
    couple_ids = linked(therapist) if couple_ids is None else couple_ids
    counts = dict.fromkeys(couple_ids, 0)
    for row in _rows(therapist.id, couple_ids, "unread"):
        counts[row.couple_id] += 1
    return counts


def signals_of(therapist: User, couple_ids, state: str = "unread", limit: int | None = None) -> list[Signal]:
    """The couples' signals for this therapist, newest first. The caller has checked access
    (`linked`) and records the view (`record_viewed`)."""
    rows = _rows(therapist.id, couple_ids, state)[:limit]
    names = {cid: sessions.partner_names(db.session.get(Couple, cid)) for cid in {r.couple_id for r in rows}}
    return [_signal(row, names[row.couple_id]) for row in rows]


def record_viewed(therapist: User, couple_ids) -> None:
    """Audit a view of these couples' signals (one entry each, whatever they held); the caller commits."""
    for couple_id in couple_ids:
        audit.record(therapist, "signals_read", couple_id, f"couple:{couple_id}")


def find(therapist: User, signal_id: int) -> Signal:
    """One signal of a couple linked to this therapist now, or 404 `not_found` (also when the
    event exists but is not a signal, or not theirs to see: no oracle)."""
    pairing.require_therapist(therapist)
    row = db.session.execute(_candidates(therapist.id).where(
        SessionEvent.id == signal_id, access.has_live_link(therapist.id, PracticeSession.couple_id))).first()
    if row is None or not is_signal(row.type, row.audience, row.data):
        raise DomainError("not_found", "There is no such signal.", 404)
    return _signal(row, sessions.partner_names(db.session.get(Couple, row.couple_id)))


# --------------------------------------------------------------------------- marking them read


def mark_read(therapist: User, signal_id: int) -> Signal:
    """Mark one signal read for this therapist (only for them); again changes nothing. Audited."""
    signal = find(therapist, signal_id)
    if signal.read_at is None:
        _mark(therapist.id, [signal.id])
    audit.record(therapist, "signal_marked_read", None, f"signal:{signal.id}")
    db.session.commit()
    return find(therapist, signal_id)


def mark_all_read(therapist: User, couple_id: int) -> int:
    """Mark every unread signal of the couple read for this therapist; how many. Audited."""
    linked(therapist, couple_id)
    ids = [row.id for row in _rows(therapist.id, [couple_id], "unread")]
    _mark(therapist.id, ids)
    audit.record(therapist, "signals_marked_read", None, f"couple:{couple_id}", {"count": len(ids)})
    db.session.commit()
    return len(ids)


def _mark(therapist_id: int, event_ids: list[int], batch: int = 200) -> None:
    """Insert the read marks; one already there (another tab, a double click) stays as it was."""
    at = utcnow()
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(event_ids), batch):
        rows = [{"event_id": e, "therapist_id": therapist_id, "read_at": at} for e in event_ids[start:start + batch]]
        db.session.execute(insert(SignalRead).values(rows).on_conflict_do_nothing(
            index_elements=["event_id", "therapist_id"]))
