"""One module per kind of page or API, each with a `router`."""
