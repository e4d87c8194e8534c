#!/bin/bash
# A stand-in test: checks the checkout is where the job runs, then reports itself.
set -euo pipefail
[[ -f tests/test_3.sh ]]
echo "test 3 ok on node $CIRCLE_NODE_INDEX in $PWD"
