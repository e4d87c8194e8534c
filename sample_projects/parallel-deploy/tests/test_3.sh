#!/bin/sh
echo "test 3 ok"
