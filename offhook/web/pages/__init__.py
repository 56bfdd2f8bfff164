"""The pages: one module per menu entry, each with a `router`."""
