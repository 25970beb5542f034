#!/bin/bash
# Fake fence agent that cannot reach its device: "action=off" exits 1, and its error message echoes
# the password it was given (as a careless agent in debug mode might), "action=status" exits 1.
input=$(cat)
declare -A opt
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  opt["${line%%=*}"]="${line#*=}"
done <<< "$input"
echo "Connecting to ${opt[ip]} as ${opt[username]} with password ${opt[password]}"
echo "Failed: Unable to connect/login to fencing device (password ${opt[password]} refused)" >&2
exit 1
