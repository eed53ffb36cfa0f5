"""The web console (served by ``quan serve``)."""
