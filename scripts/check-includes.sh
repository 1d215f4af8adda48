#!/bin/bash
# Fails when a file under user/ includes a header from a folder at its own
# level or above (see README, Architecture): dependencies point one way,
#   util <- events <- model <- pipeline <- bpf <- record <- analysis <- report
#   <- output <- live, watch <- cli
# A folder may include its own headers and those of any folder below it.
set -euo pipefail
cd "$(dirname "$0")/../user"
declare -A rank=([util]=0 [events]=1 [model]=2 [pipeline]=3 [bpf]=4 [record]=5 [analysis]=6
                 [report]=7 [output]=8 [live]=9 [watch]=9 [cli]=10)
bad=0
for file in */*.h */*.cpp; do
  from=${file%%/*}
  [[ -n ${rank[$from]:-} ]] || { echo "check-includes: $file: folder $from has no rank"; bad=1; continue; }
  while IFS= read -r to; do
    [[ $to == "$from" ]] && continue
    [[ -n ${rank[$to]:-} ]] || continue  # not one of ours (vmatrace/events.h, the skeletons)
    if (( rank[$to] >= rank[$from] )); then
      echo "check-includes: $file includes $to/ (a folder at its level or above)"
      bad=1
    fi
  done < <(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$file")
done
exit $bad
