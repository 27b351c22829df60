"""Helpers shared by tests/ and bench/: canvas drawings, the real gunicorn server, Chromium. Dev-only: app/ and model/ never import it, and it is not installed."""
