"""Privacy: the audit trail, export, account deletion, who viewed what (service, pages, API, CLI)."""
