"""Accounts: registration, Argon2id passwords, logins and bearer tokens (service, schemas,
the HTML pages, the API)."""
