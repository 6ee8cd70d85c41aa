#!/usr/bin/env bash
# The extension's C code under AddressSanitizer + UndefinedBehaviorSanitizer,
# then under Valgrind memcheck.
#
# Where the builds go.  Nothing is installed into the system's PostgreSQL:
# other clusters on the machine keep loading the normal pg_privacy.so.
# Instead the script makes a private copy of the PostgreSQL 15 installation
# under $WORK/root, laid out like the real one ($WORK/root/usr/lib/postgresql/15/bin,
# .../lib, $WORK/root/usr/share/postgresql/15).  PostgreSQL finds its library
# and share directories relative to the postgres executable it runs from
# (the same mechanism as "make check"'s temporary installation), so a
# server started from $WORK/root/.../bin/postgres loads extensions from the
# private lib and share directories.  The private bin directory is a real
# copy (the executable's own path decides); the private lib directory holds
# symlinks to the system's modules (pgcrypto, pg_cron, ...) and a real
# pg_privacy.so; the share directory is a real copy.  The extension is built
# in a copy of the source tree ($WORK/src) and installed with
# "make install DESTDIR=$WORK/root with_llvm=no" (no bitcode: JIT is off in
# these clusters).  The script checks that the backends really map the
# private, instrumented library.
#
# 1. ASan + UBSan: pg_privacy.so built with clang-14 -fsanitize=address,undefined
#    -fno-sanitize-recover=all -fno-omit-frame-pointer.  PostgreSQL itself is
#    not instrumented, so the ASan runtime is preloaded into the postmaster
#    (LD_PRELOAD of clang-14's libclang_rt.asan-x86_64.so).  Preloading alone
#    hangs postgres at start: libgpg-error's constructor (pulled in through
#    libxslt/libgcrypt) calls bindtextdomain(), whose malloc() initialises
#    the ASan runtime while glibc's gettext lock is held, and the runtime's
#    own dlerror() call then takes that lock again.  A three-line shim linked
#    with -z initfirst (libasan_initfirst.so, preloaded after the runtime)
#    initialises the runtime before any other library's constructor.
#    ASAN_OPTIONS=detect_leaks=0 (memory contexts look like leaks),
#    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1.
#    Runs the pg_regress suite (test/sql, expected outputs in test/expected),
#    the pgTAP files (test/pgtap) and the isolation specs; asserts that all
#    pass and that the server log holds no sanitizer report.
#    Palloc'd memory comes from PostgreSQL's (uninstrumented) memory
#    contexts, so ASan sees overflows of the extension's own stack and
#    global objects and of malloc'd memory, not overruns inside a context
#    block; UBSan sees every undefined operation in the extension's code.
# 2. Valgrind memcheck: the normal build (gcc, the flags PGXS uses) in the
#    same private installation, a cluster whose postmaster runs under
#    valgrind --trace-children=yes --track-origins=yes (every backend is a
#    fork of it and so runs under memcheck too), with PostgreSQL's own
#    suppressions for padding bytes written to disk and sockets
#    (src/tools/valgrind.supp; the Debian binaries do not ship it, the
#    relevant entries are written below).  Runs the pg_regress files
#    00_install, bsn, registry and retention and the pgTAP files bsn_*,
#    registry_* and retention_*; asserts they pass and that no
#    memcheck error (invalid read/write/free, uninitialised value, overlap)
#    belongs to pg_privacy: its innermost frame outside libc and valgrind is
#    in pg_privacy.so (its sources), or the uninitialised value was created
#    there (first caller past malloc, palloc and the memory-context
#    functions).  Errors of PostgreSQL's own code whose stacks merely pass
#    through one of the extension's hooks are listed, not counted.  Without a
#    PostgreSQL built with USE_VALGRIND, memcheck sees uninitialised bytes
#    and accesses outside malloc'd blocks, not overruns between chunks of a
#    memory context.
# 3. Canaries: a separate module (hardening_canary.so, never part of the
#    extension) with a heap overflow, an undefined shift and a branch on
#    uninitialised memory is loaded into each instrumented cluster after the
#    suites; the checks assert that each report is found by the same log
#    scans, so the scans above can fail.
#
# Settings (environment):
#   HARDENING_DIR    root of the work directories (default /tmp/pg_privacy_hardening)
#   SAN_PORT         port of the clusters (default 56110; sockets are in the work dir)
#   SAN_PGTAP        1 to run the pgTAP files under ASan (default 1)
#   SAN_ISOLATION    1 to run the isolation specs under ASan (default 1)
#   SAN_VALGRIND     1 to run the valgrind phase (default 1)
#   SAN_VALGRIND_TESTS  pg_regress files for valgrind (default "00_install bsn registry retention")
#   SAN_VALGRIND_PGTAP  pgTAP files for valgrind, globs in test/pgtap (default
#                    "bsn_*.sql registry_*.sql retention_*.sql"; empty for none)
#   SAN_VALGRIND_START_TIMEOUT  seconds to wait for the server under valgrind (default 300)
set -uo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
. test/client/lib/checks.sh

BASE=${HARDENING_DIR:-/tmp/pg_privacy_hardening}
WORK=$BASE/sanitizers
PORT=${SAN_PORT:-56110}
RUN_PGTAP=${SAN_PGTAP:-1}
RUN_ISOLATION=${SAN_ISOLATION:-1}
RUN_VALGRIND=${SAN_VALGRIND:-1}
VG_TESTS=${SAN_VALGRIND_TESTS:-00_install bsn registry retention}
VG_PGTAP=${SAN_VALGRIND_PGTAP-bsn_*.sql registry_*.sql retention_*.sql}
VG_START_TIMEOUT=${SAN_VALGRIND_START_TIMEOUT:-300}
SYS_PGBIN=/usr/lib/postgresql/15/bin
SYS_PG_CONFIG=$SYS_PGBIN/pg_config
T0=$(date +%s)

note() { echo "# $*"; }
elapsed() { echo "$(( $(date +%s) - T0 )) s"; }

# --- what the script needs ---------------------------------------------------
bash tools/deps.sh || { echo "not ok 1 - dependencies could not be installed"; exit 1; }
if ! command -v valgrind >/dev/null 2>&1 && [ "$RUN_VALGRIND" = 1 ]; then
    echo "installing: valgrind"
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq valgrind >/dev/null
fi

BINDIR=$($SYS_PG_CONFIG --bindir)
PKGLIBDIR=$($SYS_PG_CONFIG --pkglibdir)
SHAREDIR=$($SYS_PG_CONFIG --sharedir)
INCLUDEDIR_SERVER=$($SYS_PG_CONFIG --includedir-server)
PGXSDIR=$(dirname "$($SYS_PG_CONFIG --pgxs)")/..
PG_REGRESS=$PGXSDIR/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXSDIR/test/isolation/pg_isolation_regress
ASAN_RT=$(clang-14 -print-file-name=libclang_rt.asan-x86_64.so)

PREFIX=$WORK/root
PBIN=$PREFIX$BINDIR
PLIB=$PREFIX$PKGLIBDIR
PSHARE=$PREFIX$SHAREDIR
SRC=$WORK/src
CLUSTER=$WORK/cluster
VGLOG=$WORK/valgrind
VG_PID=

# cluster.sh's helpers (as_owner, cluster_create, cluster_stop) with the
# private installation's executables
PGBIN=$PBIN
. tools/cluster.sh

cleanup() {
    cluster_stop "$CLUSTER"
    if [ -n "$VG_PID" ] && kill -0 "$VG_PID" 2>/dev/null; then
        kill -TERM "$VG_PID" 2>/dev/null
        for _ in $(seq 1 60); do kill -0 "$VG_PID" 2>/dev/null || break; sleep 1; done
        kill -0 "$VG_PID" 2>/dev/null && kill -QUIT "$VG_PID" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# a previous run's server, if one was left behind
cluster_stop "$CLUSTER"
rm -rf "$WORK"
mkdir -p "$WORK" "$VGLOG"
[ "$(id -u)" -eq 0 ] && chmod 755 "$WORK" && chown postgres: "$VGLOG"

# --- the private installation -------------------------------------------------
mkdir -p "$(dirname "$PBIN")" "$PLIB" "$(dirname "$PSHARE")"
cp -a "$BINDIR" "$PBIN"
cp -a "$SHAREDIR" "$PSHARE"
rm -f "$PSHARE"/extension/pg_privacy*
for f in "$PKGLIBDIR"/*.so; do
    [ "$(basename "$f")" = pg_privacy.so ] && continue
    ln -s "$f" "$PLIB/$(basename "$f")"
done
[ "$("$PBIN/pg_config" --pkglibdir)" = "$PLIB" ] && [ "$("$PBIN/pg_config" --sharedir)" = "$PSHARE" ]
ok $? "a private PostgreSQL installation in $PREFIX resolves its own lib and share directories"

# the source, without the repository's build products
mkdir -p "$SRC"
tar -C "$ROOT" --exclude=./.git --exclude=./test/out --exclude='*.o' --exclude='*.so' \
    --exclude='*.bc' -cf - . | tar -xf - -C "$SRC"

# --- 1. AddressSanitizer + UndefinedBehaviorSanitizer -------------------------
SAN_CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
SAN_MAKE=(CC=clang-14 with_llvm=no PG_CONFIG="$SYS_PG_CONFIG"
    "CFLAGS=-Wall -Wmissing-prototypes -Wpointer-arith -Wdeclaration-after-statement -Wendif-labels -Wformat-security -fno-strict-aliasing -fwrapv $SAN_CFLAGS"
    "PG_CFLAGS=-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Wno-ignored-attributes"
    "LDFLAGS=-shared-libasan -fsanitize=address,undefined")
(cd "$SRC" && make -s clean >/dev/null 2>&1; make -s "${SAN_MAKE[@]}" >"$WORK/build-asan.log" 2>&1 &&
    make -s "${SAN_MAKE[@]}" DESTDIR="$PREFIX" install >>"$WORK/build-asan.log" 2>&1)
rc=$?
[ $rc -eq 0 ] || tail -n 30 "$WORK/build-asan.log"
syms=$(nm -D "$PLIB/pg_privacy.so" 2>/dev/null)
grep -q '__asan_report_load' <<<"$syms" && grep -q '__ubsan_handle_' <<<"$syms"
ok $(( rc || $? )) "pg_privacy builds with clang-14 -fsanitize=address,undefined into the private installation ($(grep -c 'warning:' "$WORK/build-asan.log") compiler warnings)"

# the shim that initialises the ASan runtime first, and the canary module
cat >"$WORK/initfirst.c" <<'EOF'
/* Initialise the AddressSanitizer runtime before any other library's constructor runs. */
extern void __asan_init(void);
__attribute__((constructor)) static void asan_init_first(void) { __asan_init(); }
EOF
clang-14 -shared -fPIC -O1 -Wl,-z,initfirst -o "$WORK/libasan_initfirst.so" "$WORK/initfirst.c" "$ASAN_RT"
cat >"$WORK/hardening_canary.c" <<'EOF'
/* Deliberate faults, to show that the sanitizer and valgrind scans find them. */
#include "postgres.h"
#include "fmgr.h"
#include <stdlib.h>

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(canary_heap_overflow);
Datum
canary_heap_overflow(PG_FUNCTION_ARGS)
{
    int32       n = PG_GETARG_INT32(0);
    char       *p = malloc(8);
    volatile char c = p[n];     /* n = 8: one past the end */

    free(p);
    PG_RETURN_INT32(c);
}

PG_FUNCTION_INFO_V1(canary_shift);
Datum
canary_shift(PG_FUNCTION_ARGS)
{
    int32       s = PG_GETARG_INT32(0);

    PG_RETURN_INT32(1 << s);    /* s = 40: undefined */
}

PG_FUNCTION_INFO_V1(canary_uninit);
Datum
canary_uninit(PG_FUNCTION_ARGS)
{
    int32       n = PG_GETARG_INT32(0);
    int        *p = malloc(16 * sizeof(int));
    int32       r = 0;

    if (p[n % 16] > 7)          /* never written */
        r = 1;
    free(p);
    PG_RETURN_INT32(r);
}
EOF
build_canary() {   # build_canary CC FLAGS...
    local cc=$1
    shift
    "$cc" -shared -fPIC "$@" -I"$INCLUDEDIR_SERVER" -o "$PLIB/hardening_canary.so" "$WORK/hardening_canary.c"
}
build_canary clang-14 $SAN_CFLAGS -shared-libasan 2>>"$WORK/build-asan.log"

SERVER_OPTS="-p $PORT -k $CLUSTER -c listen_addresses='' -c shared_preload_libraries='pg_privacy, pg_cron'"
SERVER_OPTS+=" -c cron.database_name=postgres -c cron.host='$CLUSTER' -c max_connections=50"
SERVER_OPTS+=" -c log_min_messages=warning -c jit=off"

san_start() {
    as_owner env LD_PRELOAD="$ASAN_RT:$WORK/libasan_initfirst.so" \
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=0" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        "$PBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/server.log" -w -t 120 \
        -o "$SERVER_OPTS" start >/dev/null
}

# sanitizer_reports LOG: the lines of sanitizer reports in a server log
sanitizer_reports() {
    grep -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)' "$1"
}
# crashes LOG: backends that died of a signal or an exit code the server treats as a crash
crashes() {
    grep -E 'was terminated by signal|terminated by exception|exited with exit code [^01]|all server processes terminated' "$1"
}

export PGHOST=$CLUSTER PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
unset PGPASSWORD PGSERVICE
cluster_create "$CLUSTER" && san_start
ok $? "a cluster starts with the ASan runtime preloaded"

maps_ok=1
# a connection (pg_privacy is preloaded into every backend) that keeps running while its memory map is read
PGAPPNAME=maps_probe psql -X -q -At -c "SELECT pg_sleep(6)" >/dev/null 2>&1 &
holder=$!
hpid=
for _ in $(seq 1 50); do
    hpid=$(psql -X -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'maps_probe' AND query LIKE '%pg_sleep%' LIMIT 1")
    [ -n "$hpid" ] && break
    sleep 0.1
done
maps=$([ -n "$hpid" ] && as_owner cat "/proc/$hpid/maps" 2>/dev/null)
if grep -qF "$PLIB/pg_privacy.so" <<<"$maps" && grep -q 'libclang_rt.asan' <<<"$maps"; then
    maps_ok=0
fi
wait "$holder"
ok $maps_ok "the backends map the instrumented $PLIB/pg_privacy.so and the ASan runtime"

# pg_regress: the whole suite
createdb contrib_regression
tests=$(cd test/sql && ls *.sql | sed 's/\.sql$//' | sort)
"$PG_REGRESS" --use-existing --host="$CLUSTER" --port="$PORT" --user=postgres \
    --inputdir=test --outputdir="$WORK/regress" --dbname=contrib_regression \
    $tests >"$WORK/regress.log" 2>&1
rc=$?
grep -E '^(test|ok|not ok) ' "$WORK/regress.log" | sed 's/^/# /'
[ -f "$WORK/regress/regression.diffs" ] && head -n 60 "$WORK/regress/regression.diffs" | sed 's/^/# /'
n_ok=$(grep -cE '\.\.\. ok' "$WORK/regress.log")
n_bad=$(grep -cE '\.\.\. (FAILED|failed)' "$WORK/regress.log")
[ $rc -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -eq "$(echo $tests | wc -w)" ]
ok $? "pg_regress under ASan+UBSan: $n_ok of $(echo $tests | wc -w) tests pass"

# pgTAP
if [ "$RUN_PGTAP" = 1 ]; then
    createdb pgtap_tests
    psql -X -q -d pgtap_tests -c "SET client_min_messages = warning" \
        -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION pg_privacy CASCADE" >/dev/null
    VECTORS=$ROOT/../shared/data/bsn_vectors.tsv
    psql -X -q -d pgtap_tests -c "CREATE TABLE public.bsn_vectors (input text, expected text, source text)" >/dev/null
    vec_rc=1
    [ -f "$VECTORS" ] && psql -X -q -v ON_ERROR_STOP=1 -d pgtap_tests \
        -c "\\copy public.bsn_vectors FROM '$VECTORS' WITH (FORMAT text, HEADER true)" >/dev/null && vec_rc=0
    ok $vec_rc "the BSN test vectors load ($VECTORS)"
    pg_prove -v --ext .sql -d pgtap_tests test/pgtap/ >"$WORK/pgtap.log" 2>&1
    rc=$?
    n_ok=$(grep -cE '^\s*ok [0-9]+' "$WORK/pgtap.log")
    n_bad=$(grep -cE '^\s*not ok [0-9]+' "$WORK/pgtap.log")
    grep -E '^\s*not ok|^Failed|^Result|^Files=' "$WORK/pgtap.log" | sed 's/^/# /'
    [ $rc -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -gt 0 ]
    ok $? "pgTAP under ASan+UBSan: $n_ok assertions pass, $n_bad fail"
fi

# isolation specs
if [ "$RUN_ISOLATION" = 1 ]; then
    createdb isolation_regression
    specs=$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//' | sort)
    "$PG_ISOLATION_REGRESS" --use-existing --host="$CLUSTER" --port="$PORT" --user=postgres \
        --inputdir=test/isolation --outputdir="$WORK/isolation" --dbname=isolation_regression \
        $specs >"$WORK/isolation.log" 2>&1
    rc=$?
    [ -f "$WORK/isolation/regression.diffs" ] && head -n 40 "$WORK/isolation/regression.diffs" | sed 's/^/# /'
    n_ok=$(grep -cE '\.\.\. ok' "$WORK/isolation.log")
    n_bad=$(grep -cE '\.\.\. (FAILED|failed)' "$WORK/isolation.log")
    [ $rc -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -eq "$(echo $specs | wc -w)" ]
    ok $? "isolation specs under ASan+UBSan: $n_ok of $(echo $specs | wc -w) pass"
fi

reports=$(sanitizer_reports "$CLUSTER/server.log")
[ -n "$reports" ] && { echo "$reports" | head -n 20 | sed 's/^/# /'; grep -B2 -A40 -m3 -E 'ERROR: AddressSanitizer|runtime error:' "$CLUSTER/server.log" | head -n 120 | sed 's/^/# /'; }
[ -z "$reports" ]
ok $? "no AddressSanitizer or UndefinedBehaviorSanitizer report in the server log"
dead=$(crashes "$CLUSTER/server.log")
[ -n "$dead" ] && echo "$dead" | head | sed 's/^/# /'
[ -z "$dead" ]
ok $? "no backend crashed during the suites"
cp "$CLUSTER/server.log" "$WORK/server-asan.log"
note "ASan phase done after $(elapsed)"

# the canaries: the same scans must see a heap overflow and an undefined shift
psql -X -q -c "CREATE FUNCTION public.canary_heap_overflow(int) RETURNS int AS '\$libdir/hardening_canary' LANGUAGE C STRICT" \
    -c "CREATE FUNCTION public.canary_shift(int) RETURNS int AS '\$libdir/hardening_canary' LANGUAGE C STRICT" >/dev/null
: >"$WORK/canary.log"
before=$(wc -l <"$CLUSTER/server.log")
psql -X -q -c "SELECT public.canary_heap_overflow(8)" >>"$WORK/canary.log" 2>&1
for _ in $(seq 1 60); do psql -X -At -c "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
new_log=$(tail -n +"$((before + 1))" "$CLUSTER/server.log")
grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' <<<"$new_log" && grep -q 'canary_heap_overflow' <<<"$new_log"
ok $? "canary: the log scan finds ASan's heap-buffer-overflow report, with the function"
before=$(wc -l <"$CLUSTER/server.log")
psql -X -q -c "SELECT public.canary_shift(40)" >>"$WORK/canary.log" 2>&1
for _ in $(seq 1 60); do psql -X -At -c "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
new_log=$(tail -n +"$((before + 1))" "$CLUSTER/server.log" | sanitizer_reports /dev/stdin)
grep -q 'runtime error: shift exponent 40' <<<"$new_log"
ok $? "canary: the log scan finds UBSan's runtime error for an undefined shift"
cluster_stop "$CLUSTER"
rm -rf "$CLUSTER"

# --- 2. Valgrind memcheck -------------------------------------------------------
if [ "$RUN_VALGRIND" != 1 ]; then
    note "valgrind phase skipped (SAN_VALGRIND=$RUN_VALGRIND)"
    note "total $(elapsed)"
    checks_done
    exit 0
fi

rm -f "$PLIB/pg_privacy.so" "$PLIB/hardening_canary.so"
(cd "$SRC" && make -s clean >/dev/null 2>&1; make -s PG_CONFIG="$SYS_PG_CONFIG" with_llvm=no >"$WORK/build-normal.log" 2>&1 &&
    make -s PG_CONFIG="$SYS_PG_CONFIG" with_llvm=no DESTDIR="$PREFIX" install >>"$WORK/build-normal.log" 2>&1)
rc=$?
[ $rc -eq 0 ] || tail -n 30 "$WORK/build-normal.log"
syms=$(nm -D "$PLIB/pg_privacy.so" 2>/dev/null)
[ -n "$syms" ] && ! grep -q '__asan_' <<<"$syms"
ok $(( rc || $? )) "the normal build (gcc, PGXS flags) is installed into the private installation for valgrind"
build_canary gcc -g -O0 2>>"$WORK/build-normal.log"

# PostgreSQL's suppressions (src/tools/valgrind.supp) for padding bytes that
# are written to disk or sockets; Debian's binaries export these functions.
cat >"$WORK/postgresql.supp" <<'EOF'
{
   padding_pgstat_send
   Memcheck:Param
   socketcall.send(msg)
   fun:*send*
   fun:pgstat_send
}
{
   padding_pgstat_sendto
   Memcheck:Param
   socketcall.sendto(msg)
   fun:*send*
   fun:pgstat_send
}
{
   padding_pgstat_write
   Memcheck:Param
   write(buf)
   ...
   fun:pgstat_write_statsfiles
}
{
   padding_XLogRecData_CRC
   Memcheck:Value8
   fun:pg_comp_crc32c*
   fun:XLogRecordAssemble
}
{
   padding_XLogRecData_write
   Memcheck:Param
   write(buf)
   ...
   fun:XLogWrite
}
{
   padding_relcache
   Memcheck:Param
   write(buf)
   ...
   fun:write_relcache_init_file
}
{
   padding_reorderbuffer_serialize
   Memcheck:Param
   write(buf)
   ...
   fun:ReorderBufferSerializeTXN
}
{
   uninitialized_atomic_init_u64
   Memcheck:Cond
   fun:pg_atomic_exchange_u64_impl
   fun:pg_atomic_write_u64_impl
   fun:pg_atomic_init_u64_impl
}
EOF

cluster_create "$CLUSTER"
vg_start=$(date +%s)
as_owner valgrind --tool=memcheck --trace-children=yes --track-origins=yes \
    --num-callers=40 --error-limit=no --fullpath-after= \
    --suppressions="$WORK/postgresql.supp" --log-file="$VGLOG/vg.%p.log" \
    "$PBIN/postgres" -D "$CLUSTER/data" -p "$PORT" -k "$CLUSTER" -c listen_addresses='' \
    -c "shared_preload_libraries=pg_privacy, pg_cron" -c cron.database_name=postgres \
    -c "cron.host=$CLUSTER" -c max_connections=20 -c shared_buffers=32MB -c jit=off \
    -c autovacuum=off -c fsync=off -c log_min_messages=warning \
    >"$CLUSTER/server.log" 2>&1 &
VG_PID=$!
up=1
for _ in $(seq 1 "$VG_START_TIMEOUT"); do
    if psql -X -At -c "SELECT 1" >/dev/null 2>&1; then up=0; break; fi
    kill -0 "$VG_PID" 2>/dev/null || break
    sleep 1
done
ok $up "a cluster starts under valgrind memcheck ($(( $(date +%s) - vg_start )) s)"

if [ $up -eq 0 ]; then
    createdb contrib_regression
    vg_run=$(date +%s)
    "$PG_REGRESS" --use-existing --host="$CLUSTER" --port="$PORT" --user=postgres \
        --inputdir=test --outputdir="$WORK/vg-regress" --dbname=contrib_regression \
        $VG_TESTS >"$WORK/vg-regress.log" 2>&1
    rc=$?
    grep -E '^(test|ok|not ok) ' "$WORK/vg-regress.log" | sed 's/^/# /'
    [ -f "$WORK/vg-regress/regression.diffs" ] && head -n 60 "$WORK/vg-regress/regression.diffs" | sed 's/^/# /'
    n_ok=$(grep -cE '\.\.\. ok' "$WORK/vg-regress.log")
    [ $rc -eq 0 ] && [ "$n_ok" -eq "$(echo $VG_TESTS | wc -w)" ]
    ok $? "pg_regress $VG_TESTS under valgrind: $n_ok of $(echo $VG_TESTS | wc -w) pass ($(( $(date +%s) - vg_run )) s)"

    if [ -n "$VG_PGTAP" ]; then
        createdb vg_pgtap
        psql -X -q -d vg_pgtap -c "SET client_min_messages = warning" \
            -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION pg_privacy CASCADE" \
            -c "CREATE TABLE public.bsn_vectors (input text, expected text, source text)" >/dev/null
        [ -f "$ROOT/../shared/data/bsn_vectors.tsv" ] && psql -X -q -d vg_pgtap \
            -c "\\copy public.bsn_vectors FROM '$ROOT/../shared/data/bsn_vectors.tsv' WITH (FORMAT text, HEADER true)" >/dev/null
        files=$(cd test/pgtap && for g in $VG_PGTAP; do ls $g 2>/dev/null; done | sort -u | sed 's|^|test/pgtap/|')
        vg_run=$(date +%s)
        pg_prove -v -d vg_pgtap $files >"$WORK/vg-pgtap.log" 2>&1
        rc=$?
        n_ok=$(grep -cE '^\s*ok [0-9]+' "$WORK/vg-pgtap.log")
        n_bad=$(grep -cE '^\s*not ok [0-9]+' "$WORK/vg-pgtap.log")
        grep -E '^\s*not ok|^Failed|^Files=' "$WORK/vg-pgtap.log" | sed 's/^/# /'
        [ $rc -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_ok" -gt 0 ]
        ok $? "pgTAP $(echo $files | wc -w) files ($VG_PGTAP) under valgrind: $n_ok assertions pass, $n_bad fail ($(( $(date +%s) - vg_run )) s)"
    fi

    # the canary: a branch on uninitialised malloc'd memory
    psql -X -q -c "CREATE FUNCTION public.canary_uninit(int) RETURNS int AS '\$libdir/hardening_canary' LANGUAGE C STRICT" \
        -c "SELECT public.canary_uninit(3)" >/dev/null 2>&1
fi
# stop the server and wait for every process under valgrind to write its log
as_owner "$PBIN/pg_ctl" -D "$CLUSTER/data" -m fast -w -t 300 stop >/dev/null 2>&1
for _ in $(seq 1 300); do kill -0 "$VG_PID" 2>/dev/null || break; sleep 1; done
wait "$VG_PID" 2>/dev/null
VG_PID=

# vg_errors PATTERN MODE: memcheck errors (the error with its stack and its
# origin or address description, from every process's log), attributed to
# the code that PATTERN names (a library path or source directory):
#   MODE=site     errors whose innermost frame outside libc and valgrind is
#                 in that code, or whose uninitialised value was created
#                 there (a stack allocation, or an allocation whose first
#                 caller past malloc/palloc and the memory-context functions
#                 is there); the error blocks are printed
#   MODE=through  the other errors whose stacks merely pass through that
#                 code (a hook that called the executor, ...); one line each
vg_errors() {
    local pattern=$1 mode=$2 f
    for f in "$VGLOG"/vg.*.log; do
        [ -e "$f" ] || continue
        awk -v pat="$pattern" -v mode="$mode" -v file="$(basename "$f")" '
            function loc(l,   m) {
                # the location: the text inside the last parentheses
                m = l; sub(/.*\(/, "", m); sub(/\)[^)]*$/, "", m); return m
            }
            function system_frame(l,   m) {
                m = loc(l)
                if (m ~ /^in /) return (m ~ /vgpreload|libc\.so|libm\.so|ld-linux/)
                return (m !~ /^\//)          # libc frames with debug info: relative source paths
            }
            function allocator_frame(l) {
                return (l ~ /bin\/postgres\)/ &&
                        (l ~ /: \?\?\? / || l ~ /: (palloc|palloc0|palloc_extended|MemoryContextAlloc[A-Za-z]*|repalloc[A-Za-z]*|AllocSet[A-Za-z]*|GenerationAlloc|SlabAlloc|pstrdup|pnstrdup|makeStringInfo|initStringInfo|enlargeStringInfo|datumCopy) /))
            }
            function flush(   i, sec, found_main, found_origin, verdict, l) {
                if (n == 0) return
                if (lines[1] ~ kinds) {
                    sec = "main"; found_main = 0; found_origin = 0; verdict = ""
                    for (i = 2; i <= n; i++) {
                        l = lines[i]
                        if (l ~ /^ *Uninitialised value was created/) { sec = "origin"; if (l ~ pat) verdict = "origin"; continue }
                        if (l ~ /^ *(Address 0x|Block was alloc)/) { sec = "address"; continue }
                        if (l !~ /^ *(at|by) 0x/) continue
                        if (system_frame(l)) continue
                        if (sec == "main" && !found_main) { found_main = 1; if (l ~ pat) verdict = "site" }
                        if (sec == "origin" && !found_origin) {
                            if (allocator_frame(l)) continue
                            found_origin = 1
                            if (l ~ pat) verdict = (verdict == "" ? "origin" : verdict)
                        }
                    }
                    if (mode == "site" && verdict != "") {
                        for (i = 1; i <= n; i++) print file ": " lines[i]
                        print file ": (attributed by its " verdict ")"
                        print ""
                    } else if (mode == "through" && verdict == "") {
                        for (i = 1; i <= n; i++) if (lines[i] ~ pat) { print file ": " lines[1] " / " lines[i]; break }
                    }
                }
                n = 0
            }
            BEGIN { kinds = "Invalid (read|write|free)|uninitialised|Mismatched free|Source and destination overlap|Syscall param"; n = 0 }
            {
                line = $0
                if (line !~ /^==[0-9]+==/) next
                sub(/^==[0-9]+== ?/, "", line)
                if (line == "") { gap = 1; next }
                # the origin or address description after a blank line belongs to the error
                if (gap && line !~ /^ *(Uninitialised value was created|Address 0x|Block was alloc)/) flush()
                gap = 0
                lines[++n] = line
            }
            END { flush() }
        ' "$f"
    done
}
nlogs=$(ls "$VGLOG"/vg.*.log 2>/dev/null | wc -l)
total=$(cat "$VGLOG"/vg.*.log 2>/dev/null | grep -cE '^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap|Mismatched free)')
ok $([ "$nlogs" -gt 2 ] && echo 0 || echo 1) "valgrind wrote a log for each of $nlogs processes; $total memcheck errors in all (PostgreSQL's own included)"

src_pattern="pg_privacy\\.so|${SRC}/src/"
ours=$(vg_errors "$src_pattern" site)
if [ -n "$ours" ]; then
    echo "$ours" | head -n 150 | sed 's/^/# /'
    echo "$ours" >"$WORK/valgrind-pg_privacy.txt"
fi
n_ours=$(echo -n "$ours" | grep -c '(attributed by its')
[ "$n_ours" -eq 0 ]
ok $? "no invalid read/write/free, overlap or uninitialised value in pg_privacy's code or created by it ($n_ours found)"
through=$(vg_errors "$src_pattern" through)
[ -n "$through" ] && { note "errors of PostgreSQL's own code whose stacks pass through pg_privacy (not counted):"; echo "$through" | cut -c1-220 | sed 's/^/#   /'; }

canary=$(vg_errors 'hardening_canary' site)
grep -q 'Conditional jump or move depends on uninitialised value' <<<"$canary" &&
    grep -q 'canary_uninit' <<<"$canary"
ok $? "canary: the valgrind scan finds the branch on uninitialised memory in canary_uninit"

note "valgrind logs: $VGLOG; total $(elapsed)"
checks_done
