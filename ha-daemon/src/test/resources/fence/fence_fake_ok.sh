#!/bin/bash
# Fake fence agent whose "host" really goes off. Reads key=value lines on stdin, as fence-agents do;
# "action=off" exits 0 once off, "action=status" exits 2 when off and 0 when on.
# Options: state=FILE  the host's power, "on" or "off"
#          log=FILE    appends each input it read, followed by a line "--"
#          gate=FILE   optional: "off" first waits (at most 20 s) until FILE exists
input=$(cat)
declare -A opt
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  opt["${line%%=*}"]="${line#*=}"
done <<< "$input"
[[ -n "${opt[log]}" ]] && printf '%s\n--\n' "$input" >> "${opt[log]}"
case "${opt[action]}" in
  off)
    if [[ -n "${opt[gate]}" ]]; then
      for _ in $(seq 1000); do [[ -e "${opt[gate]}" ]] && break; sleep 0.02; done
    fi
    echo off > "${opt[state]}"
    echo "Success: Powered OFF"
    exit 0 ;;
  status)
    if [[ "$(cat "${opt[state]}" 2>/dev/null)" == off ]]; then echo "Status: OFF"; exit 2; fi
    echo "Status: ON"
    exit 0 ;;
  *)
    echo "Failed: unsupported action '${opt[action]}'" >&2
    exit 1 ;;
esac
