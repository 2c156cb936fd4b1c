#!/usr/bin/env bash
# Installs what the browser tests need, if missing: Debian's Chromium and
# ChromeDriver, and a font with Chinese glyphs (screenshots would show
# boxes without one). Called by scripts/test.sh; safe to run again.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromedriver ] || need+=(chromium-driver)
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then need+=(fonts-wqy-zenhei); fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "== installing for the browser tests: ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "error: need root (or sudo) to apt-get install ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends "${need[@]}"; then
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi
