#!/bin/sh
# make fuzz: run every libFuzzer target of a -Dfuzzing_engine=libfuzzer build for SECONDS each,
# JOBS at a time, on a scratch copy of its corpus (fixtures/fuzz/<name>), and print one line per
# target: executions, coverage (edges), corpus growth, crashes. Crash reproducers go to
# fixtures/fuzz/<name>/crashes/, where the fuzz-replay suite runs them in every `make test`.
# With MERGE=1 the new inputs are merged (minimised) into fixtures/fuzz/<name>.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS JOBS [TARGET...]
set -eu
build=${1:?usage: run.sh BUILD SECONDS JOBS [TARGET...]}
secs=${2:-600}
jobs=${3:-2}
shift 3 || true
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

if [ $# -eq 0 ]; then
    set -- $(cd "$root/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi

run_one() {
    name=$1
    exe="$build/tests/fuzz/fuzz_$name"
    corpus="$work/$name"
    mkdir -p "$corpus" "$root/fixtures/fuzz/$name/crashes"
    cp -r "$root/fixtures/fuzz/$name/." "$corpus/" 2>/dev/null || true
    rm -rf "$corpus/crashes"
    "$exe" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$root/fixtures/fuzz/$name/crashes/" "$corpus" \
        >"$work/$name.log" 2>&1 || true
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
    cov=$(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -n 1 | sed 's/cov: //')
    added=$(sed -n 's/^stat::new_units_added: *//p' "$work/$name.log")
    crashes=$(ls "$root/fixtures/fuzz/$name/crashes" | wc -l)
    printf '%-12s %12s runs  %6s edges  %6s new inputs  %s crash files\n' \
        "$name" "${runs:-?}" "${cov:-?}" "${added:-?}" "$crashes"
    if grep -q -E '^==[0-9]+==ERROR|deadly signal|Test unit written' "$work/$name.log"; then
        grep -E 'ERROR|SUMMARY|Test unit written' "$work/$name.log" | head -n 5 | sed 's/^/    /'
    fi
    if [ "${MERGE:-0}" = 1 ]; then
        "$exe" -merge=1 "$root/fixtures/fuzz/$name" "$corpus" >/dev/null 2>&1 || true
    fi
    rmdir "$root/fixtures/fuzz/$name/crashes" 2>/dev/null || true
}

echo "fuzzing ${secs}s per target, $jobs at a time: $*"
# batches of JOBS: every target runs for the same time, so none waits long for another
running=0
for name in "$@"; do
    run_one "$name" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait
