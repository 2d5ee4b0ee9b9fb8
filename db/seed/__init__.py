"""Seed data: the demo city of Bandung."""
