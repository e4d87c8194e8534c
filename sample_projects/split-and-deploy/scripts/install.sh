#!/bin/sh
# Installing dependencies is slow; the cache makes the second run skip it.
set -eu
if [ -f vendor/left-pad/VERSION ]; then
  echo "dependencies restored from the cache: left-pad $(cat vendor/left-pad/VERSION)"
  exit 0
fi
sleep 0.3
mkdir -p vendor/left-pad
sed -n 's/^left-pad==//p' deps.lock > vendor/left-pad/VERSION
echo "dependencies installed: left-pad $(cat vendor/left-pad/VERSION)"
