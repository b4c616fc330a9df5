"""Flask CLI commands."""


def register(app):
    pass
