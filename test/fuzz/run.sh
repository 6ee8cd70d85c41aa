#!/usr/bin/env bash
# make fuzz: build the libFuzzer target for the BSN input rule with
# AddressSanitizer and UndefinedBehaviorSanitizer, seed it with the shared
# test vectors, and run it for FUZZ_SECONDS (default 600).
set -euo pipefail
cd "$(dirname "$0")"
bash ../../tools/deps.sh
SECONDS_TO_RUN=${FUZZ_SECONDS:-600}
clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I../../src -o bsn_fuzz bsn_fuzz.c ../../src/bsn_parse.c
mkdir -p corpus
vectors=../../../shared/data/bsn_vectors.tsv
if [ -f "$vectors" ]; then
    tail -n +2 "$vectors" | cut -f1 | while IFS= read -r line; do
        printf '%b' "$line" >"corpus/$(printf '%s' "$line" | md5sum | cut -c1-16)"
    done
fi
printf '111222333' >corpus/seed1
printf ' 1234.56.782 ' >corpus/seed2
./bsn_fuzz -max_total_time="$SECONDS_TO_RUN" -max_len=64 -print_final_stats=1 corpus
