"""Request plumbing both edges share: the API (:mod:`quan.api`) and the console (:mod:`quan.web`).

:mod:`~quan.edge.deps` gives the runtime dependency, authentication and the role declarations
(:class:`~quan.edge.deps.Allow`, :data:`~quan.edge.deps.PUBLIC`); :mod:`~quan.edge.status` maps
an error's kind to its HTTP status. Neither edge imports the other's handlers: both call the use
cases in :mod:`quan.services`.
"""
