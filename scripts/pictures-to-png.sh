#!/usr/bin/env bash
# Renders the pictures the tests leave in test-output/pictures/*.svg to PNG beside them, to look
# at them as a browser draws them. Needs a headless Chromium (Debian: apt-get install chromium);
# not part of CI, because fonts differ between machines.
#   npx vitest run test/pictures && bash scripts/pictures-to-png.sh
set -euo pipefail
browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z "$browser" ]]; then
  echo "no chromium found (set CHROMIUM=/path/to/chromium)" >&2
  exit 1
fi
dir=${1:-test-output/pictures}
for svg in "$dir"/*.svg; do
  # The picture's own size, from viewBox="0 0 W H".
  read -r width height < <(grep -o 'viewBox="0 0 [0-9]* [0-9]*"' "$svg" | head -1 | tr -d '"' | awk '{print $3, $4}')
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$width,$height" \
    --screenshot="${svg%.svg}.png" "file://$(realpath "$svg")" >/dev/null 2>&1
  echo "${svg%.svg}.png"
done
