"""Privacy CLI commands: `flask --app app audit-verify` walks the audit log's signed hash chain
and checks it against the checkpoints kept outside the database; `flask backup` and `flask
restore` copy the database, each checked against the chain (privacy/backup.py)."""
import click
from flask.cli import with_appcontext

from . import audit, backup as backups


def register(app):
    for command in (audit_verify, backup_command, restore_command):
        app.cli.add_command(command)


def _print(report) -> None:
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo(report.describe())


@click.command("audit-verify")
@click.option("--expect", "expect", metavar="N:HASH",
              help="A head printed by an earlier run (kept somewhere else): the chain must still hold it.")
@click.option("--accept-restore", is_flag=True,
              help="After restoring a backup: verify the chain as restored and record its head as the "
                   "new checkpoint (the entries written after the backup are gone on purpose).")
@with_appcontext
def audit_verify(expect, accept_restore):
    """Check every audit entry's signature and link, and that the chain still holds the newest
    checkpoint recorded outside the database; exit 1 and name the first broken entry if any.
    Keep the printed head off this machine too: with --expect it is checked as well."""
    try:
        expected = audit.parse_head(expect) if expect else None
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--expect") from None
    report = audit.accept_restore() if accept_restore else audit.verify(expect=expected)
    if accept_restore and report and expected:
        report = audit.verify(expect=expected)
    _print(report)
    if not report:
        raise SystemExit(1)


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(dest):
    """Back up the database to DEST (a new file, mode 0600) while the app keeps serving: SQLite's
    online backup API, or pg_dump on PostgreSQL (custom format). Prints the copy's audit head."""
    try:
        done = backups.backup(dest)
    except backups.BackupError as err:
        raise click.ClickException(str(err)) from None
    _print(done.report)
    if not done.report:
        raise SystemExit(1)
    click.echo(f"backup written to {done.path}; after restoring it: flask --app app audit-verify "
               f"--expect {done.report.head}")


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="SQLite: overwrite a database that has tables (stop every server first).")
@with_appcontext
def restore_command(src, replace):
    """Restore the backup SRC into this instance's database (new and empty, unless --replace),
    verify its audit chain with this instance's audit key, and record the restored head."""
    try:
        report = backups.restore(src, replace=replace)
    except backups.BackupError as err:
        raise click.ClickException(str(err)) from None
    _print(report)
    if not report:
        raise SystemExit(1)
