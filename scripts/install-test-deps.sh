#!/usr/bin/env bash
# Install the system packages the integration tests need, from Debian's own archive:
#   - Chromium and its matching chromedriver, for the browser tests of the HTML report
#     (tests/test_html_browser.py) and of the dashboard (tests/test_dashboard_browser.py, also
#     bench/dashboard_overview.py and scripts/screenshot.py), driven by Selenium;
#   - Prometheus (with promtool), for the scrape test (tests/test_prometheus.py);
#   - Alertmanager (with amtool), for the exported rules and routing (tests/test_export.py);
#   - curl, which the docs' shell examples use (tests/test_doc_examples.py runs them).
#
# Why a script: CI images are bare Debian 12; the HTML report must be checked in a
# real browser (rendering, escaping, no network), and /metrics must be scraped by a
# real Prometheus and linted by promtool. Both are too large to ship in the
# repository. Idempotent: when /usr/bin/chromium, /usr/bin/chromedriver, /usr/bin/curl,
# /usr/bin/prometheus, /usr/bin/promtool, /usr/bin/prometheus-alertmanager and
# /usr/bin/amtool are all there it exits 0 at once, without touching apt. Needs
# root (or sudo).
set -euo pipefail

REQUIRED=(/usr/bin/chromium /usr/bin/chromedriver /usr/bin/prometheus /usr/bin/promtool /usr/bin/curl
          /usr/bin/prometheus-alertmanager /usr/bin/amtool)

missing=()
for f in "${REQUIRED[@]}"; do
    [[ -x $f ]] || missing+=("$f")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -n "$0" "$@"
    fi
    echo "install-test-deps: need root to apt-get install (missing: ${missing[*]})" >&2
    exit 1
fi

packages=()
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    packages+=(chromium chromium-driver)
fi
if [[ ! -x /usr/bin/prometheus || ! -x /usr/bin/promtool ]]; then
    packages+=(prometheus)
fi
if [[ ! -x /usr/bin/prometheus-alertmanager || ! -x /usr/bin/amtool ]]; then
    packages+=(prometheus-alertmanager)
fi
if [[ ! -x /usr/bin/curl ]]; then
    packages+=(curl)
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-test-deps: installing ${packages[*]} (chromium is about 500 MB)..." >&2
apt-get update -qq
# Debian's prometheus and prometheus-alertmanager packages try to start their
# services; without systemd that start is refused, which is harmless here (the
# tests run their own).
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

still=()
for f in "${REQUIRED[@]}"; do
    [[ -x $f ]] || still+=("$f")
done
if [[ ${#still[@]} -ne 0 ]]; then
    echo "install-test-deps: still missing after apt-get install: ${still[*]}" >&2
    exit 1
fi
