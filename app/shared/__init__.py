"""Stores several app servers share (PostgreSQL)."""
