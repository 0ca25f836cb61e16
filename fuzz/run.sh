#!/bin/bash
# fuzz/run.sh: run each libFuzzer target built by `make fuzz` for $FUZZ_SECONDS, then print one
# line of figures per target (executions, coverage, corpus, peak memory) and fail when any
# target found something. Arguments: NAME:SEED+SEED... (NAME's binary is $FUZZ_BUILD/fuzz-NAME,
# its committed corpus fuzz/corpus/NAME/, the seeds are more read-only input directories).
# What libFuzzer adds to the corpus goes to $FUZZ_BUILD/corpus/NAME/ (kept between runs);
# a crash, leak, timeout or out-of-memory input to $FUZZ_BUILD/findings/NAME/. A finding that
# is fixed is added to fuzz/corpus/NAME/ so that `make check` replays it for ever.
set -u
B=${FUZZ_BUILD:-build-fuzz}
S=${FUZZ_SECONDS:-30}
rc=0
printf '%-14s %10s %8s %7s %8s %7s %9s  %s\n' target execs exec/s cov features corpus "peak MB" findings
for arg in "$@"; do
    t=${arg%%:*}
    seeds=${arg#*:}
    [ "$seeds" = "$arg" ] && seeds=
    corpus=$B/corpus/$t
    findings=$B/findings/$t
    log=$B/fuzz-$t.log
    mkdir -p "$corpus" "$findings"
    dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
    # shellcheck disable=SC2086
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0 \
      "$B/fuzz-$t" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" \
        "$corpus" "fuzz/corpus/$t" ${seeds//+/ } >"$log" 2>&1
    frc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    nf=$(find "$findings" -type f | wc -l)
    printf '%-14s %10s %8s %7s %8s %7s %9s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "${peak:-?}" "$nf"
    if [ $frc != 0 ] || [ "$nf" != 0 ]; then
        echo "fuzz: $t: libFuzzer exit $frc, $nf finding(s) in $findings; log $log:" >&2
        grep -E 'ERROR|SUMMARY|Test unit written|fuzz_|abort' "$log" | head -10 >&2
        rc=1
    fi
done
exit $rc
