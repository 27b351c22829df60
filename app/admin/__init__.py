"""Operator commands (python -m app.admin): feedback, retraining behind a gate, promotion and rollback."""
