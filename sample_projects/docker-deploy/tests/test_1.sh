#!/bin/bash
# A stand-in test: checks the checkout is where the job runs, then reports itself.
set -euo pipefail
[[ -f tests/test_1.sh ]]
echo "test 1 ok on node $CIRCLE_NODE_INDEX in $PWD"
