"""HTTP routes (blueprints): the page, /predict and /predict/batch, /feedback, /healthz, /api/model, the OpenAPI document."""
