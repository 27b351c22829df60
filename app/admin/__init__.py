"""The operator CLI on click (python -m app.admin, digit-canvas-admin, flask --app app admin): feedback, retraining behind a gate, promotion, rollback."""
