#!/usr/bin/env python
"""The README's screenshot of the dashboard, taken during the demo: run it again whenever the pages change.

    .venv/bin/python scripts/screenshot.py [--out docs/img/dashboard.png] [--path /] [--width 1280] [--height 800]

Replays the demo's story into a fresh store (`argus demo --once --data TMP/argus-data --port FREE`, the story
`make demo` tells), serves that store with `argus serve --data` on a free port, opens ``--path`` (by default
``first-model``: the page of the model in the worst health; ``first-incident``: the newest open incident's
page; or a path such as ``/`` for the overview) in headless Debian Chromium at ``--width`` x ``--height``
pixels, waits for ``body[data-ready="true"]``, checks the page logged no error, and saves the visible
part as a PNG. It fails, rather than writing, when the page reports an error or the file would exceed
``--max-kb`` (300 KB: the README should load fast).

Needs Chromium and chromedriver (scripts/install-test-deps.sh) and the dev extra (selenium).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

from browser_util import browser_missing, chromium, problems, wait_ready  # noqa: E402
from service_util import Server, free_port  # noqa: E402


def same_argusml() -> dict[str, str]:
    """The environment for a child that must run the argusml this script imported: the demo runs in a
    temporary folder, where a relative PYTHONPATH (``PYTHONPATH=src``) would find another copy or none."""
    import argusml

    src = str(Path(argusml.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])}


def pick(url: str, path: str) -> str:
    """The page to shoot: ``path`` itself, or the page a keyword names, found through the JSON API."""
    if path == "first-incident":
        incidents = [i for i in httpx.get(f"{url}/v1/incidents", timeout=30).json() if i["status"] != "resolved"]
        if not incidents:
            raise SystemExit("screenshot: --path first-incident: the demo's store has no open incident")
        return f"/incidents/{incidents[0]['id']}"
    if path == "first-model":
        models = httpx.get(f"{url}/v1/models", params={"sort": "-health"}, timeout=30).json()["models"]
        if not models:
            raise SystemExit("screenshot: --path first-model: the demo's store has no model")
        return f"/models/{models[0]['model']}"
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "dashboard.png")
    ap.add_argument("--path", default="first-model", help="the page: a path (/ is the overview), first-incident or "
                    "first-model (the default: the demo's model page, its health, features and charts)")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--max-kb", type=int, default=300)
    args = ap.parse_args()
    why = browser_missing()
    if why:
        print(f"screenshot: {why}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="argus-screenshot-") as tmp:
        data = Path(tmp) / "argus-data"
        t = time.perf_counter()
        demo = subprocess.run([sys.executable, "-m", "argusml.cli.main", "demo", "--once", "--data", str(data),
                               "--port", str(free_port())],
                              cwd=tmp, capture_output=True, text=True, env=same_argusml())
        if demo.returncode != 0:
            print(f"screenshot: `argus demo --once` exited {demo.returncode}:\n{demo.stdout[-2000:]}{demo.stderr[-2000:]}",
                  file=sys.stderr)
            return 1
        print(f"demo replayed in {time.perf_counter() - t:.0f} s")
        server = Server(None, data, log=Path(tmp) / "serve.log")
        try:
            server.wait_ready()
            page = pick(server.url, args.path)
            drv = chromium(args.width, args.height)
            try:
                drv.get(server.url + page)
                state = wait_ready(drv, timeout=30)
                bad = problems(drv)
                if state != "true" or bad:
                    print(f"screenshot: {page}: data-ready={state!r}, problems: {bad}", file=sys.stderr)
                    return 1
                png = drv.get_screenshot_as_png()
            finally:
                drv.quit()
        finally:
            server.stop()
    kb = len(png) / 1024
    if kb > args.max_kb:
        print(f"screenshot: {page} at {args.width}x{args.height} is {kb:.0f} KB, over --max-kb {args.max_kb}: "
              "use a smaller --height or --width", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(png)
    print(f"{args.out}: {page}, {args.width}x{args.height}, {kb:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
