"""Start the browser tutor: `python app.py [--port N] [--host H] [--auth user:password] [--share]`.

Only builds and launches; the app itself is `tutor.web.app.build_app`. The index starts loading (or building, on the
first start) before Gradio is imported; the page shows how far it has got, and a first build answers from the part
indexed so far.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Study tutor over your own notes, in the browser.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, help="port (default $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--share", action="store_true", help="also publish a public gradio.live link (off by default)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require a login (or set TUTOR_AUTH)")
    p.add_argument("--corpus", metavar="DIR", help="notes folder (TUTOR_CORPUS_DIR, default corpus/)")
    p.add_argument("--index", metavar="DIR", help="index folder (TUTOR_INDEX_DIR, default index/)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tutor.config import get_settings, parse_auth

    try:
        auth = parse_auth(args.auth or os.environ.get("TUTOR_AUTH"))
    except ValueError as exc:
        print(f"tutor: {exc} (e.g. --auth alice:secret)", file=sys.stderr)
        return 2
    settings = get_settings(corpus_dir=args.corpus, index_dir=args.index)
    from tutor.web.loader import TutorLoader, echo_stderr

    served = threading.Event()
    loader = TutorLoader(settings, echo=echo_stderr, hold=served).start()  # the index loads while Gradio imports
    print("tutor: starting (loading Gradio)…", file=sys.stderr, flush=True)
    from tutor.web.app import build_app, launch_options

    port = args.port or int(os.environ.get("GRADIO_SERVER_PORT") or 7860)
    if args.host not in LOCAL_HOSTS:
        print(
            f"warning: listening on {args.host}: anyone who can reach this machine can read your notes"
            + ("" if auth else "; consider --auth user:password"),
            file=sys.stderr,
        )
    if args.share:
        print(
            "warning: --share publishes the tutor at a public gradio.live address for 72 hours"
            + ("" if auth else "; anyone with the link can read your notes (use --auth user:password)"),
            file=sys.stderr,
        )
    print(f"tutor: the page shows the index status until the chat is ready (port {port})", file=sys.stderr)
    demo = build_app(loader=loader)
    options = launch_options()
    demo.queue().launch(
        server_name=args.host, server_port=port, share=args.share, auth=auth, prevent_thread_lock=True, **options
    )
    served.set()  # a first build starts embedding now
    demo.block_thread()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
