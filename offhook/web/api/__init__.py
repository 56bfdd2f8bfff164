"""The JSON API: one module per resource, each with a `router`; documented at /api/docs."""
