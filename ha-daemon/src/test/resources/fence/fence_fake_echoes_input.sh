#!/bin/bash
# Fake fence agent in debug mode that cannot reach its device: it prints every line it was given on
# stdin, then fails; "action=status" fails the same way (exit 1, "device unreachable").
while IFS= read -r line; do
  echo "got ${line}"
done
echo "Failed: Unable to connect/login to fencing device" >&2
exit 1
