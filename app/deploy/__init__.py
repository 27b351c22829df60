"""Deployment: gunicorn's configuration and its deadline-keeping worker."""
