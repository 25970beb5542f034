#!/bin/bash
# Fake fence agent that hangs: reads its input, writes its own pid and its child's pid to the file
# given as pids=FILE, then waits for a "sleep 30" child. The fencer must kill both at its deadline.
input=$(cat)
declare -A opt
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  opt["${line%%=*}"]="${line#*=}"
done <<< "$input"
sleep 30 &
child=$!
echo "$$ $child" > "${opt[pids]}.tmp" && mv "${opt[pids]}.tmp" "${opt[pids]}"
wait "$child"
