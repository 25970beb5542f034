#!/bin/bash
# Fake fence agent whose "off" claims success but whose host never goes off: "action=off" exits 0,
# "action=status" always says on (exit 0). Option log=FILE appends each action it ran, one a line.
input=$(cat)
declare -A opt
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  opt["${line%%=*}"]="${line#*=}"
done <<< "$input"
[[ -n "${opt[log]}" ]] && echo "${opt[action]}" >> "${opt[log]}"
case "${opt[action]}" in
  off) echo "Success: Powered OFF"; exit 0 ;;
  status) echo "Status: ON"; exit 0 ;;
  *) exit 1 ;;
esac
