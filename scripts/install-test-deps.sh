#!/usr/bin/env bash
# Install the system packages the browser test (tests/test_html_browser.py) needs:
# Chromium and its matching chromedriver, from Debian's own archive.
#
# Why a script: CI images are bare Debian 12; the HTML report must be checked in a
# real browser (rendering, escaping, no network), and that browser is too large to
# ship in the repository. Idempotent: when /usr/bin/chromium (and the driver) are
# already there it exits 0 at once, without touching apt. Needs root (or sudo).
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi

if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -n "$0" "$@"
    fi
    echo "install-test-deps: need root to apt-get install chromium chromium-driver" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-test-deps: installing chromium and chromium-driver (about 500 MB)..." >&2
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "install-test-deps: chromium or chromedriver still missing after apt-get install" >&2
    exit 1
fi
