#!/usr/bin/env bash
# Makes sure the browser tests have a Chromium: Debian's, at /usr/bin/chromium
# (or CHROMIUM_PATH when set). Installs it with apt-get when it is missing and
# we are root; never downloads a browser any other way. Idempotent and quiet;
# prints one line saying what it did.
set -euo pipefail

target="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ -x "$target" ]; then
  echo "ensure-chromium: found $target ($("$target" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "ensure-chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable; fix or unset it" >&2
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing and this is not root: run 'sudo apt-get install -y chromium', or set CHROMIUM_PATH" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: /usr/bin/chromium is missing and there is no apt-get: install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq chromium; } >"$log" 2>&1; then
  echo "ensure-chromium: apt-get failed; its output:" >&2
  cat "$log" >&2
  exit 1
fi
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium) with apt-get"
