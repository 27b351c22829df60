"""HTTP routes (blueprints): the page, /predict, /feedback, the OpenAPI document."""
