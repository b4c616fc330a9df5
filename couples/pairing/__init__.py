"""Pairing: couples, invitations, consent and therapist links (service, schemas, pages, API)."""
