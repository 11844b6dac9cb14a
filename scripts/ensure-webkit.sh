#!/usr/bin/env bash
# Makes sure the WebKit browser tests can run: Debian's WebKitWebDriver
# (webkit2gtk-driver), the MiniBrowser it drives (from libwebkit2gtk-4.1-0,
# a dependency) and xvfb-run (xvfb) for a display. Installs them with apt-get
# when one is missing and we are root; never downloads a browser any other
# way. Idempotent and quiet; prints one line saying what it did.
set -euo pipefail

driver=/usr/bin/WebKitWebDriver
browser=/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser

have_all() { [ -x "$driver" ] && [ -x "$browser" ] && command -v xvfb-run >/dev/null 2>&1; }

if have_all; then
  echo "ensure-webkit: found $driver, $browser (WebKitGTK $(dpkg-query -W -f='${Version}' webkit2gtk-driver 2>/dev/null || echo '?')) and xvfb-run"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-webkit: WebKitWebDriver, MiniBrowser or xvfb-run is missing and this is not root: run 'sudo apt-get install -y webkit2gtk-driver xvfb'," >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-webkit: WebKitWebDriver, MiniBrowser or xvfb-run is missing and there is no apt-get: install WebKitGTK's WebDriver, its MiniBrowser and Xvfb" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq webkit2gtk-driver xvfb; } >"$log" 2>&1; then
  echo "ensure-webkit: apt-get failed; its output:" >&2
  cat "$log" >&2
  exit 1
fi
if ! have_all; then
  echo "ensure-webkit: installed webkit2gtk-driver and xvfb, but $browser is still missing: is libwebkit2gtk-4.1-0 installed for this architecture?" >&2
  exit 1
fi
echo "ensure-webkit: installed webkit2gtk-driver $(dpkg-query -W -f='${Version}' webkit2gtk-driver) and xvfb with apt-get"
