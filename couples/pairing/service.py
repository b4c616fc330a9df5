"""Couples and consent: create, invite, join, leave, link a therapist, consent and revoke.

Each public function is one transaction: it checks, changes, records an audit entry and commits,
or raises a DomainError with a stable code (and rolls back). The database's UNIQUE columns are
the real guarantees (one active couple per person, one live link per therapist and couple); the
checks before them only give the common cases a clearer message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import access
from ..errors import DomainError
from ..extensions import db
from ..models import Couple, CoupleMember, Invitation, TherapistLink, User, new_code, utcnow
from ..privacy import audit


# --- refusals, with their stable codes ------------------------------------------------------

def _already_in_couple():
    return DomainError("already_in_couple", "You are already in a couple. Leave it first.", 409)


def _require_partner(user: User) -> None:
    if user.is_therapist:
        raise DomainError("not_a_partner", "Only partners can do this.", 403)


def _require_membership(user: User) -> CoupleMember:
    _require_partner(user)
    member = access.active_membership(user)
    if member is None:
        raise DomainError("not_in_couple", "You are not in a couple.", 409)
    return member


# The checks live with the rules (access.py); kept here by name for this package's callers.
require_therapist = access.require_therapist
require_active_link = access.require_active_link


def _flush_or(error: DomainError) -> None:
    """Write pending changes; a UNIQUE violation becomes `error` and the transaction is undone."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise error from None


# --- the couple -----------------------------------------------------------------------------

def create_couple(user: User) -> Couple:
    """Start a couple with the user in seat "a", and an invitation for the other partner."""
    _require_partner(user)
    if access.active_membership(user) is not None:
        raise _already_in_couple()
    couple = Couple()
    db.session.add(couple)
    db.session.flush()
    db.session.add(CoupleMember(couple_id=couple.id, user_id=user.id, seat="a", active_user_id=user.id))
    _add_invitation(couple, user)
    _flush_or(_already_in_couple())
    audit.record(user, "couple_created", couple.id)
    db.session.commit()
    return couple


def _add_invitation(couple: Couple, user: User) -> Invitation:
    invitation = Invitation(couple_id=couple.id, created_by_id=user.id, code=new_code(),
                            expires_at=utcnow() + current_app.config["INVITE_LIFETIME"])
    db.session.add(invitation)
    return invitation


def _revoke_open_invitations(couple_id: int, now: datetime) -> None:
    db.session.execute(update(Invitation).where(
        Invitation.couple_id == couple_id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None)
    ).values(revoked_at=now))


def new_invitation(user: User) -> Invitation:
    """A fresh code for the couple; earlier unused codes stop working."""
    member = _require_membership(user)
    if _active_members(member.couple_id) >= 2:
        raise DomainError("couple_full", "Your couple already has two partners.", 409)
    _revoke_open_invitations(member.couple_id, utcnow())
    invitation = _add_invitation(member.couple, user)
    audit.record(user, "invitation_created", member.couple_id)
    db.session.commit()
    return invitation


def _active_members(couple_id: int) -> int:
    return len(db.session.scalars(select(CoupleMember.id).where(
        CoupleMember.couple_id == couple_id, CoupleMember.active_user_id.is_not(None))).all())


def pending_invitation(couple_id: int) -> Invitation | None:
    """The couple's usable invitation, if any."""
    return db.session.scalar(select(Invitation).where(
        Invitation.couple_id == couple_id, Invitation.used_at.is_(None),
        Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow()
    ).order_by(Invitation.id.desc()).limit(1))


def normalise_code(code: str) -> str:
    return "".join(code.split()).upper()


def _usable_invitation(user: User, code: str) -> Invitation:
    invitation = db.session.scalar(select(Invitation).where(Invitation.code == normalise_code(code)))
    if invitation is None:
        raise DomainError("invite_not_found", "No invitation has this code.", 404, {"code": "Not found."})
    couple = db.session.get(Couple, invitation.couple_id)
    if access.seat_in(user, couple.id) is not None:
        raise DomainError("own_invite", "This is your own couple's invitation: give it to your partner.", 409)
    if invitation.used_at is not None:
        raise DomainError("invite_used", "This invitation has already been used.", 409)
    if invitation.revoked_at is not None:
        raise DomainError("invite_revoked", "This invitation was replaced by a newer one.", 410)
    if invitation.expires_at <= utcnow():
        raise DomainError("invite_expired", "This invitation has expired. Ask for a new one.", 410)
    if not couple.active:
        raise DomainError("couple_ended", "This couple has ended.", 410)
    if _active_members(couple.id) >= 2:
        raise DomainError("couple_full", "This couple already has two partners.", 409)
    return invitation


def join(user: User, code: str) -> Couple:
    """Take seat "b" in the couple whose invitation this is."""
    _require_partner(user)
    if access.active_membership(user) is not None:
        raise _already_in_couple()
    invitation = _usable_invitation(user, code)
    now = utcnow()
    claimed = db.session.execute(update(Invitation).where(
        Invitation.id == invitation.id, Invitation.used_at.is_(None)
    ).values(used_at=now, used_by_id=user.id)).rowcount
    if claimed != 1:  # someone else used it a moment ago
        db.session.rollback()
        raise DomainError("invite_used", "This invitation has already been used.", 409)
    db.session.add(CoupleMember(couple_id=invitation.couple_id, user_id=user.id, seat="b",
                                active_user_id=user.id, joined_at=now))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        if access.active_membership(user) is not None:
            raise _already_in_couple() from None
        raise DomainError("couple_full", "This couple already has two partners.", 409) from None
    audit.record(user, "couple_joined", invitation.couple_id)
    db.session.commit()
    return db.session.get(Couple, invitation.couple_id)


def leave(user: User, *, deleting: bool = False) -> Couple:
    """End the couple for both partners; its history stays readable by each of them. Their open
    room hears why: the session's end first, then each socket its own `cause` (`deleting`: the
    leaver is deleting their account, and the other partner is told so)."""
    member = _require_membership(user)
    from ..room import presence, sockets, turns  # the room reads couples; the couple ends its room
    ended = turns.end_for_couple(user, member.seat, member.couple_id)
    if ended is not None:  # committed: both partners and the therapist see it end, while they still may
        sockets.broadcast(ended)
    couple, now = member.couple, utcnow()
    couple.ended_at, couple.ended_by_id = now, user.id
    for seat in couple.members:
        if seat.active_user_id is not None:
            seat.left_at, seat.active_user_id = now, None
    _revoke_open_invitations(couple.id, now)
    # A therapist's access was given to the couple, so it ends with the couple.
    others = [m.user_id for m in couple.members if m.user_id != user.id]
    therapists = []
    for link in _live_links(couple.id):
        link.revoked_at, link.revoked_by_id, link.live_key = now, user.id, None
        therapists.append(link.therapist_id)
    audit.record(user, "couple_ended", couple.id)
    presence.audience_changed(couple_id=couple.id)
    db.session.commit()
    presence.cut_lost_sockets([user.id], "account_deleted" if deleting else "left_couple")
    presence.cut_lost_sockets(others, "partner_deleted" if deleting else "partner_left")
    presence.cut_lost_sockets(therapists, "couple_ended")
    return couple


# --- therapists and consent -----------------------------------------------------------------

def _live_links(couple_id: int) -> list[TherapistLink]:
    return db.session.scalars(select(TherapistLink).where(
        TherapistLink.couple_id == couple_id, TherapistLink.revoked_at.is_(None)
    ).order_by(TherapistLink.id)).all()


def _find_therapist(email: str | None, code: str | None) -> User:
    if email is not None:
        found = db.session.scalar(select(User).where(User.email == email.strip().lower(),
                                                     User.deleted_at.is_(None)))
    else:
        found = db.session.scalar(select(User).where(User.therapist_code == normalise_code(code),
                                                     User.deleted_at.is_(None)))
    if found is None or not found.is_therapist:
        # One answer for "no account" and "a partner's account": inviting must not tell a partner
        # whether someone (an ex, say) has an account here (docs/security.md).
        raise DomainError("therapist_not_found", "No therapist has this email or code.", 404)
    return found


def _consent_column(seat: str) -> str:
    return "consent_a_at" if seat == "a" else "consent_b_at"


def invite_therapist(user: User, *, email: str | None = None, code: str | None = None) -> TherapistLink:
    """Link a therapist with the inviter's consent; the link is active once the other consents."""
    member = _require_membership(user)
    therapist = _find_therapist(email, code)
    link = TherapistLink(couple_id=member.couple_id, therapist_id=therapist.id, invited_by_id=user.id,
                         live_key=f"{member.couple_id}:{therapist.id}")
    setattr(link, _consent_column(member.seat), utcnow())
    db.session.add(link)
    _flush_or(DomainError("therapist_already_linked", "This therapist is already linked or invited.", 409))
    audit.record(user, "therapist_invited", member.couple_id, f"user:{therapist.id}")
    db.session.commit()
    return link


def _own_link(user: User, link_id: int) -> tuple[CoupleMember, TherapistLink]:
    member = _require_membership(user)
    link = db.session.get(TherapistLink, link_id)
    if link is None or link.couple_id != member.couple_id:
        raise DomainError("link_not_found", "Your couple has no such therapist link.", 404)
    if link.revoked_at is not None:
        raise DomainError("link_revoked", "This therapist's access was already revoked.", 409)
    return member, link


def consent(user: User, link_id: int) -> TherapistLink:
    """Record this partner's consent (idempotent); the link is active when both consented."""
    member, link = _own_link(user, link_id)
    column = _consent_column(member.seat)
    if getattr(link, column) is None:
        setattr(link, column, utcnow())
        audit.record(user, "therapist_consent", link.couple_id, f"user:{link.therapist_id}")
        db.session.commit()
    return link


def revoke(user: User, link_id: int) -> TherapistLink:
    """Either partner ends a therapist's access, at once."""
    from ..room import presence
    member, link = _own_link(user, link_id)
    link.revoked_at, link.revoked_by_id, link.live_key = utcnow(), user.id, None
    audit.record(user, "therapist_revoked", link.couple_id, f"user:{link.therapist_id}")
    presence.audience_changed(couple_id=link.couple_id)
    db.session.commit()
    presence.cut_lost_sockets([link.therapist_id], "link_removed")  # their open room closes before this returns
    presence.tell_partners(link.couple_id, {"cause": "link_removed", "by": member.seat,
                                            "therapist": link.therapist.display_name})
    return link


# --- what each person sees ------------------------------------------------------------------

@dataclass
class CoupleStatus:
    """A partner's view of their couple: who is in it, who is invited, who can see its data."""
    couple: Couple | None
    my_seat: str | None = None
    partners: list[dict] = field(default_factory=list)
    invitation: Invitation | None = None
    therapists: list[dict] = field(default_factory=list)
    can_see_our_data: list[dict] = field(default_factory=list)
    past_couples: list[Couple] = field(default_factory=list)


def link_view(link: TherapistLink) -> dict:
    therapist = link.therapist
    return {"id": link.id, "therapist": {"display_name": therapist.display_name, "email": therapist.email},
            "invited_at": link.created_at, "consent_a_at": link.consent_a_at,
            "consent_b_at": link.consent_b_at, "active": link.active, "revoked_at": link.revoked_at}


def couple_status(user: User) -> CoupleStatus:
    """The partner's active couple (or none) and the couples they have left."""
    _require_partner(user)
    past = db.session.scalars(select(Couple).join(CoupleMember).where(
        CoupleMember.user_id == user.id, Couple.ended_at.is_not(None)).order_by(Couple.id.desc())).all()
    member = access.active_membership(user)
    if member is None:
        return CoupleStatus(couple=None, past_couples=past)
    couple = member.couple
    partners = [{"seat": m.seat, "display_name": m.user.display_name if m.user else "(deleted)",
                 "joined_at": m.joined_at, "is_me": m.user_id == user.id}
                for m in couple.members if m.active_user_id is not None]
    links = _live_links(couple.id)
    viewers = [{"display_name": p["display_name"], "role": "partner", "since": p["joined_at"]} for p in partners]
    viewers += [{"display_name": link.therapist.display_name, "role": "therapist",
                 "since": max(link.consent_a_at, link.consent_b_at)} for link in links if link.active]
    return CoupleStatus(couple=couple, my_seat=member.seat, partners=partners,
                        invitation=pending_invitation(couple.id) if len(partners) < 2 else None,
                        therapists=[link_view(link) for link in links],
                        can_see_our_data=viewers, past_couples=past)


def therapist_couples(therapist: User) -> list[dict]:
    """The couples whose both partners consented to this therapist: names and dates, nothing else."""
    require_therapist(therapist)
    out = []
    for couple_id in access.linked_couple_ids(therapist):
        out.append(therapist_view(therapist, couple_id))
    return out


def therapist_view(therapist: User, couple_id: int) -> dict:
    """One linked couple as its therapist sees it, or 403 `no_consent`."""
    link = require_active_link(therapist, couple_id)
    members = db.session.scalars(select(CoupleMember).where(
        CoupleMember.couple_id == couple_id, CoupleMember.active_user_id.is_not(None)
    ).order_by(CoupleMember.seat)).all()
    return {"couple_id": couple_id, "partners": [m.user.display_name for m in members if m.user],
            "invited_at": link.created_at, "linked_at": max(link.consent_a_at, link.consent_b_at)}
