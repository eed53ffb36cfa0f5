"""``python -m quan.bench.ceiling_serve raw|fastapi --port P --workers N``: serve a ceiling app.

The uvicorn options are those ``quan serve`` passes (see :func:`quan.cli.root.serve`: info log
level, hence access logging, and proxy headers); keep them in step, or the ceilings stop bounding
the application they are compared with.
"""

from __future__ import annotations

import argparse

import uvicorn

from quan.bench.ceiling_apps import APPS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    uvicorn.run(
        APPS[args.app],
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        # As quan.cli.root.serve passes them:
        log_level="info",
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
