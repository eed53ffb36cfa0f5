"""The web console: server-rendered pages for operators, auditors, cashiers and citizens.

Layout::

    pages.py       the router (every console route) and the static files
    i18n.py        language choice;  messages.py  the one message catalogue (zh-CN, en)
    templating.py  Jinja2 environment, filters (money, local times), page rendering
    session.py     session cookies, CSRF, role checks (the API's ``Allow`` semantics)
    routing.py     the route class that turns errors into pages and checks CSRF on POST
    charts.py      server-rendered SVG charts;  qr.py  QR codes as SVG
    views/         read models the pages show (dashboard figures, the citizen's batches)
    routes/        one module per area: staff, operator, merchants, auditor, disclosure,
                   citizen (wallet), cashier
    templates/     Jinja2 templates;  static/  CSS, small scripts, vendored htmx

See ``docs/console.md``.
"""
