#!/usr/bin/env bash
# Runs every fuzz target (or those named after SECONDS) for SECONDS each (default 300), one
# after another at low priority, and prints each target's executions and coverage.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain RUSTC_BOOTSTRAP=1 lets
# it use the nightly-only flags it passes to rustc. The working corpus grows in fuzz/corpus/
# (not committed) from the committed seeds in fuzz/seeds/; crashes go to fuzz/artifacts/, logs
# to fuzz/logs/. Exits 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-300}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(tensor_file weights onnx_bytes onnx_graph image spec cli_plan labels)
fi
export RUSTC_BOOTSTRAP=1
mkdir -p logs
# No sanitizer: the code under test is safe Rust, and a panic (abort) is what is looked for.
cargo fuzz build -s none >logs/build.log 2>&1 || { cat logs/build.log; exit 1; }

failed=0
printf '%-12s %8s %12s %10s %8s %8s  %s\n' target seconds executions exec/s cov ft result
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    log="logs/$t.log"
    status=0
    nice -n 19 cargo fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    # A target that did not build or run has no statistics: report it, go on to the next.
    execs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
    rate=$(grep -a 'stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -1 || true)
    last=$(grep -aE '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    result=ok
    if [ "$status" -ne 0 ]; then
        result="FAILED (see $log and artifacts/$t/)"
        failed=1
    fi
    printf '%-12s %8s %12s %10s %8s %8s  %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "$result"
done
exit $failed
