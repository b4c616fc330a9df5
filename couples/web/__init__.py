"""Transport shared by every feature: the API plumbing, forms, template filters, headers."""
