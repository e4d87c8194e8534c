#!/bin/sh
set -eu
mkdir -p dist
echo "app 1.0 (left-pad $(cat vendor/left-pad/VERSION))" > dist/app.txt
echo "built $(cat dist/app.txt)"
