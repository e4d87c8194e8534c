#!/bin/sh
# A stand-in build: prints what it was built from.
echo "app built from ${CIRCLE_SHA1:-unknown} on ${CIRCLE_BRANCH:-no branch} (build ${CIRCLE_BUILD_NUM})"
