#!/bin/sh
echo "test 5 ok"
