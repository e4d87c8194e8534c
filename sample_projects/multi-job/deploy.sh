#!/bin/sh
set -e
target="$1"
[ -n "$target" ] || { echo "usage: deploy.sh TARGET" >&2; exit 2; }
echo "deploying job $CIRCLE_JOB to $target"
