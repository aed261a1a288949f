"""Take the README screenshot: a demo runbook page in Debian's Chromium, saved to docs/screenshot.png.

    .venv/bin/python bench/screenshot.py [--slug SLUG] [--dark]

Runs the same throwaway stack as the benchmarks (temporary SQLite, demo data,
gunicorn on loopback) and removes it afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import REPO, python, running_stack  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

MAX_BYTES = 300_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--slug", help="runbook to show (default: the first demo runbook with the most history)"
    )
    parser.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshot.png"))
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with running_stack(runbooks=12, database="sqlite", db_name="") as stack:
        slug = args.slug or python(
            stack.env,
            "import django; django.setup(); from django.db.models import Count; "
            "from runbooks.models import Runbook; "
            "print(Runbook.objects.filter(kind='incident').annotate(n=Count('history'))"
            ".order_by('-n', 'pk').values_list('slug', flat=True)[0])",
        )
        base = f"http://{stack.host}:{stack.port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            context = browser.new_context(
                viewport={"width": 1280, "height": 900},
                color_scheme="dark" if args.dark else "light",
            )
            context.add_cookies([{"name": "sessionid", "value": stack.session_cookie, "url": base}])
            page = context.new_page()
            page.goto(f"{base}/runbooks/{slug}/")
            page.wait_for_selector("#runbook-title")
            page.screenshot(path=args.out)
            browser.close()
    size = os.path.getsize(args.out)
    print(f"Saved {args.out} ({size // 1024} KB) of /runbooks/{slug}/")
    return 0 if size <= MAX_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
