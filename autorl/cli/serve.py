"""``autorl serve``: the HTTP API (needs the ``api`` extra: FastAPI and uvicorn)."""

from __future__ import annotations

import argparse

from autorl.cli.common import add_storage, shown_url
from autorl.errors import AutoRLError


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "serve",
        help="serve the HTTP API (settings: AUTORL_STORAGE, AUTORL_API_TOKEN, AUTORL_API_*)",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    add_storage(s)
    s.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from autorl.api import ApiSettings, create_app
    except ImportError as exc:
        raise AutoRLError(
            f"autorl serve needs the api extra ({exc}): pip install 'autorl[api]'"
        ) from None
    settings = ApiSettings.from_env(storage_url=args.storage)
    print(f"serving {shown_url(settings.storage_url)} on http://{args.host}:{args.port}")
    uvicorn.run(create_app(settings), host=args.host, port=args.port)
    return 0
