"""The multi-process suite (a package, so its conftest never shadows another suite's)."""
