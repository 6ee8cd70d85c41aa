#!/usr/bin/env bash
# The Debian package and the PGXN archive, installed as a DBA installs them.
#
# Debian: make deb builds postgresql-15-pg-privacy from HEAD; lintian reports
# no error.  What make install put into PostgreSQL's directories is removed
# first (make uninstall), so everything the checks use comes from the
# package: dpkg -i, a cluster configured as the README says
# (shared_preload_libraries), then make installcheck (pg_regress, isolation,
# pgTAP) against it.  dpkg -r removes every file again.
#
# PGXN: make dist writes pg_privacy-VERSION.zip; pgxn install builds and
# installs the extension from the zip alone, pgxn check runs its regression
# suite against the same kind of server; pgxn uninstall removes it.
#
# At the end make install puts the source tree's build back, for the checks
# that follow.  Cluster under /tmp/pg_privacy_hardening/packages, port
# 56030.  Needs root.  Prints TAP lines; exits non-zero when a check failed.
set -uo pipefail

cd "$(dirname "$0")/../.."
. tools/cluster.sh
. test/client/lib/checks.sh

DIR=/tmp/pg_privacy_hardening/packages
PORT=56030
PRELOAD='pg_privacy, pg_cron'
VERSION=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_privacy.control)
PKG=postgresql-15-pg-privacy
EXTDIR=$("$PGBIN/pg_config" --sharedir)/extension
LIBDIR=$("$PGBIN/pg_config" --pkglibdir)

cleanup() {
    cluster_stop "$DIR"
    dpkg -r "$PKG" >/dev/null 2>&1 || true
    build_and_install
}
trap cleanup EXIT

installed_files() {   # how many of the extension's files are in PostgreSQL's directories
    ls "$EXTDIR"/pg_privacy* "$LIBDIR"/pg_privacy.so "$PGBIN"/pg_privacy_lint 2>/dev/null | wc -l
}

fresh_cluster() {
    cluster_stop "$DIR"
    rm -rf "$DIR"
    cluster_create "$DIR" && cluster_start "$DIR" "$PORT" "$PRELOAD"
}

bash tools/deps.sh packaging >/dev/null || { echo "not ok 1 - packaging tools installed"; exit 1; }
make -s PG_CONFIG="$PGBIN/pg_config" uninstall >/dev/null 2>&1
[ "$(installed_files)" -eq 0 ]
ok $? "make uninstall leaves no pg_privacy file in $EXTDIR or $LIBDIR"

# --- Debian ----------------------------------------------------------------------------
make -s deb >"$DIR.deb.log" 2>&1
rc=$?
ok $rc "make deb builds the package ($(tail -n 1 "$DIR.deb.log"))"
deb=build/${PKG}_${VERSION}_$(dpkg --print-architecture).deb
errors=$(grep -c '^E:' build/lintian.txt 2>/dev/null)
[ "$rc" -eq 0 ] && [ "${errors:-1}" -eq 0 ]
ok $? "lintian reports no error ($(grep -c '^W:' build/lintian.txt 2>/dev/null) warnings)"
[ "$(dpkg-deb -f "$deb" Package 2>/dev/null)" = "$PKG" ] && [ "$(dpkg-deb -f "$deb" Version)" = "$VERSION" ]
ok $? "the package is $PKG $VERSION"
dpkg -i "$deb" >/dev/null 2>&1
ok $? "dpkg -i installs it"
dpkg -L "$PKG" | grep -qx "$LIBDIR/pg_privacy.so" &&
    dpkg -L "$PKG" | grep -qx "$EXTDIR/pg_privacy--$VERSION.sql" &&
    dpkg -L "$PKG" | grep -qx "$EXTDIR/pg_privacy--0.1.0--$VERSION.sql" &&
    dpkg -L "$PKG" | grep -qx "$EXTDIR/pg_privacy--0.1.0.sql" &&
    dpkg -L "$PKG" | grep -qx "$PGBIN/pg_privacy_lint"
ok $? "it holds the library, the install scripts of 0.1.0 and $VERSION, the upgrade script and pg_privacy_lint"
fresh_cluster
ok $? "a cluster preloading the packaged library starts"
PGHOST=$DIR PGPORT=$PORT PGUSER=postgres make -s installcheck >"$DIR.installcheck.log" 2>&1
rc=$?
ok $rc "make installcheck passes against the packaged install ($(grep -E '^ *All [0-9]+ tests passed|^Files=' "$DIR.installcheck.log" | sed 's/, *[0-9]* wallclock.*//; s/^ *//' | tr '\n' ' '))"
[ "$rc" -eq 0 ] || tail -n 30 "$DIR.installcheck.log"
cluster_stop "$DIR"
dpkg -r "$PKG" >/dev/null 2>&1 && [ "$(installed_files)" -eq 0 ]
ok $? "dpkg -r removes every file of the package"

# --- PGXN ------------------------------------------------------------------------------
make -s dist >"$DIR.dist.log" 2>&1
ok $? "make dist writes pg_privacy-$VERSION.zip ($(tail -n 1 "$DIR.dist.log"))"
zip=$PWD/pg_privacy-$VERSION.zip
entries=$(unzip -Z1 "$zip")
grep -qx "pg_privacy-$VERSION/META.json" <<<"$entries" && ! grep -qv "^pg_privacy-$VERSION/" <<<"$entries"
ok $? "every file of the archive is under pg_privacy-$VERSION/, META.json at its top"
pgxn install --pg_config "$PGBIN/pg_config" "$zip" >"$DIR.pgxn.log" 2>&1 &&
    [ -f "$LIBDIR/pg_privacy.so" ] && [ -f "$EXTDIR/pg_privacy--$VERSION.sql" ]
ok $? "pgxn install builds and installs it from the zip"
fresh_cluster
PGHOST=$DIR PGPORT=$PORT PGUSER=postgres pgxn check --pg_config "$PGBIN/pg_config" "$zip" >>"$DIR.pgxn.log" 2>&1
rc=$?
ok $rc "pgxn check runs the regression suite of the zip against the installed extension ($(grep -E '^ *All [0-9]+ tests passed' "$DIR.pgxn.log" | sed 's/^ *//' | tr '\n' ' '))"
[ "$rc" -eq 0 ] || tail -n 30 "$DIR.pgxn.log"
st=$(psql -X -At -h "$DIR" -p "$PORT" -U postgres -d postgres -c "CREATE EXTENSION pg_privacy CASCADE" \
    -c "SELECT count(*) FILTER (WHERE state NOT IN ('ok', 'info') AND component <> 'bypass roles') || '/' || count(*) FROM privacy.status()" 2>&1 | tail -n 1)
[[ "$st" =~ ^0/[0-9]+$ ]]
ok $? "CREATE EXTENSION from the PGXN install: privacy.status() reports no problem besides the superuser's bypass ($st not ok)"
cluster_stop "$DIR"
pgxn uninstall --pg_config "$PGBIN/pg_config" "$zip" >>"$DIR.pgxn.log" 2>&1 && [ "$(installed_files)" -eq 0 ]
ok $? "pgxn uninstall removes it"

checks_done
