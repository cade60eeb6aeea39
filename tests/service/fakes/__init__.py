"""Test doubles shared by the service tests (engines, fake servers)."""
