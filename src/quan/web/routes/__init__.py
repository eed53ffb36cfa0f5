"""Console routes, one module per area (see :mod:`quan.web`)."""
