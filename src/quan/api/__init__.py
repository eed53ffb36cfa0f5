"""The HTTP API (``/api/v1``): thin routes that parse, call a use case, and render."""
