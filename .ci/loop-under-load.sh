#!/usr/bin/env bash
# CI must pass every time, not most times: runs `.ci/run` RUNS times in a row, each on a fresh clone of
# HEAD, while a CPU burner keeps one core busy, and prints one result line per run, then a total.
#
#   .ci/loop-under-load.sh [RUNS]          (default 5)
#
# Environment:
#   BURNER=0           no burner (a quiet-machine baseline)
#   BURNER_NICE=N      run the burner at nice N (default 0: it competes with the tests as a real
#                      neighbour would; a niced burner mostly yields and proves little)
#   KEEP=1             keep each run's clone and log under $WORK (default: logs only)
#   WORK=dir           where clones and logs go (default: a new directory under /tmp)
#   LIMIT_MIN=20       a run longer than this many minutes counts as failed (the issue's CI budget)
#
# Exit status: 0 only if every run passed within the limit. Each run's full output is in $WORK/run-N.log.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
RUNS=${1:-5}
LIMIT_MIN=${LIMIT_MIN:-20}
WORK=${WORK:-$(mktemp -d /tmp/ci-loop.XXXXXX)}
mkdir -p "$WORK"
HEAD_SHA=$(git rev-parse --short HEAD)

burner_pid=""
start_burner() {
  [ "${BURNER:-1}" = "0" ] && return
  # One busy loop pinned to one core when taskset exists: the tests keep the other core and share this one.
  local pin=()
  command -v taskset > /dev/null && pin=(taskset -c 0)
  "${pin[@]}" nice -n "${BURNER_NICE:-0}" sh -c 'while :; do :; done' &
  burner_pid=$!
}
stop_burner() {
  [ -n "$burner_pid" ] && kill "$burner_pid" 2> /dev/null
  burner_pid=""
}
# A signal ends the loop at once (a trap alone stopped the burner and went on with the next run); the run in
# progress is left to end by itself or be killed.
trap stop_burner EXIT
trap 'stop_burner; exit 130' INT
trap 'stop_burner; exit 143' TERM

echo "loop: $RUNS fresh-clone runs of .ci/run at $HEAD_SHA, burner: $([ "${BURNER:-1}" = "0" ] && echo none || echo "one core, nice ${BURNER_NICE:-0}"), logs in $WORK"
start_burner
passed=0
for i in $(seq 1 "$RUNS"); do
  clone="$WORK/clone-$i"
  log="$WORK/run-$i.log"
  rm -rf "$clone"
  git clone --quiet --no-local "$REPO" "$clone"
  git -C "$clone" checkout --quiet "$HEAD_SHA"
  started=$(date +%s)
  # In the background and waited for: bash runs a trap only between commands, and `wait` is one it can leave.
  (cd "$clone" && .ci/run) > "$log" 2>&1 &
  wait $!
  rc=$?
  secs=$(( $(date +%s) - started ))
  # The summary reporter's closing line (test/summary-reporter.ts), and the files vitest marked failed.
  plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
  summary=$(grep -a '^tests: ' <<< "$plain" | tail -1)
  failed_files=$(grep -aoE '^ *FAIL +[^ ]+\.(test|fixture)\.ts' <<< "$plain" | awk '{print $2}' | sort -u | tr '\n' ' ')
  verdict=PASS
  if [ "$rc" -ne 0 ]; then verdict=FAIL; fi
  if [ "$secs" -gt $(( LIMIT_MIN * 60 )) ]; then verdict="FAIL(over ${LIMIT_MIN} min)"; fi
  [ "$verdict" = PASS ] && passed=$((passed + 1))
  printf 'run %d/%d %s exit=%d %dm%02ds load=%s | %s%s\n' "$i" "$RUNS" "$verdict" "$rc" $((secs / 60)) $((secs % 60)) \
    "$(cut -d' ' -f1-3 /proc/loadavg 2> /dev/null | tr ' ' '/')" "${summary:-no summary line}" "${failed_files:+ | failed: $failed_files}"
  [ "${KEEP:-0}" = "1" ] || rm -rf "$clone"
done
stop_burner
echo "loop: $passed/$RUNS runs passed at $HEAD_SHA"
[ "$passed" -eq "$RUNS" ]
