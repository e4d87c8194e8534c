#!/bin/sh
echo "test 4 ok"
