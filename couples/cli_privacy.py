"""Privacy CLI commands: `flask --app app audit-verify` walks the audit log's hash chain."""
import click
from flask.cli import with_appcontext

from . import audit


def register(app):
    app.cli.add_command(audit_verify)


@click.command("audit-verify")
@with_appcontext
def audit_verify():
    """Check every audit entry's hash and link; exit 1 and name the first broken entry if any."""
    report = audit.verify()
    click.echo(report.describe())
    if not report:
        raise SystemExit(1)
