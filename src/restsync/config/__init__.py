"""Seed-format configs: translation of the dialect into dlt's RESTAPIConfig."""
