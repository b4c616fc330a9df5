"""Privacy CLI commands: `flask --app app audit-verify` walks the audit log's hash chain."""
import click
from flask.cli import with_appcontext

from . import audit


def register(app):
    app.cli.add_command(audit_verify)


@click.command("audit-verify")
@click.option("--expect", "expect", metavar="N:HASH",
              help="A head printed by an earlier run (kept somewhere else): the chain must still hold it.")
@with_appcontext
def audit_verify(expect):
    """Check every audit entry's hash and link; exit 1 and name the first broken entry if any.
    Keep the printed head off this machine: with --expect it shows rows removed from the end."""
    try:
        expected = audit.parse_head(expect) if expect else None
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--expect") from None
    report = audit.verify(expect=expected)
    click.echo(report.describe())
    if not report:
        raise SystemExit(1)
