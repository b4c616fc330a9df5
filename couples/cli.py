"""Flask CLI commands: `flask --app app demo`."""
import base64
import hashlib
import hmac

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from . import access
from .accounts import service as accounts
from .pairing import service as pairing
from .extensions import db
from .models import TherapistLink, User
from .web.links import public_url

DEMO_PEOPLE = (  # email, display name, role
    ("alex@demo.example", "Alex", "partner"),
    ("sam@demo.example", "Sam", "partner"),
    ("dr.lee@demo.example", "Dr Robin Lee", "therapist"),
)


def register(app):
    app.cli.add_command(demo)


def demo_password() -> str:
    """The same password on every run of this instance, but not guessable without SECRET_KEY."""
    mac = hmac.new(current_app.config["SECRET_KEY"].encode(), b"couples demo accounts", hashlib.sha256)
    return "demo-" + base64.b32encode(mac.digest()).decode()[:12].lower()


@click.command("demo")
@with_appcontext
def demo():
    """Create a demo couple (two partners) and their linked therapist, and print their logins."""
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("The demo accounts are for trying the app out, not for production.")
    password = demo_password()
    people, created = [], False
    for email, name, role in DEMO_PEOPLE:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user, created = accounts.register(email, password, name, role), True
        people.append(user)
    alex, sam, therapist = people
    _pair(alex, sam)
    _link(alex, sam, therapist)
    click.echo("Demo accounts created." if created else "Demo accounts already exist; their logins:")
    for user in people:
        click.echo(f"  {user.role:<9} {user.display_name:<13} {user.email:<22} password: {password}")
    click.echo(f"Open {public_url('accounts.login')} and log in as any of them.")


def _pair(alex: User, sam: User) -> None:
    """Alex creates the couple and Sam joins it, unless they already share one."""
    mine, theirs = access.active_membership(alex), access.active_membership(sam)
    if mine is not None and theirs is not None and mine.couple_id == theirs.couple_id:
        return
    if mine is None:
        pairing.create_couple(alex)
    if theirs is None:
        invitation = pairing.pending_invitation(access.active_membership(alex).couple_id)
        pairing.join(sam, (invitation or pairing.new_invitation(alex)).code)
    else:
        raise click.ClickException("The demo partners are in other couples; leave those first.")


def _link(alex: User, sam: User, therapist: User) -> None:
    """The therapist is linked with both partners' consent."""
    couple_id = access.active_membership(alex).couple_id
    link = db.session.scalar(select(TherapistLink).where(
        TherapistLink.couple_id == couple_id, TherapistLink.therapist_id == therapist.id,
        TherapistLink.revoked_at.is_(None)))
    if link is None:
        link = pairing.invite_therapist(alex, email=therapist.email)
    pairing.consent(alex, link.id)
    pairing.consent(sam, link.id)
