#!/usr/bin/env bash
# make deb: build the Debian package postgresql-15-pg-privacy from the
# committed tree (git archive of HEAD, so nothing uncommitted or built slips
# in), with dpkg-buildpackage, debhelper and pg_buildext; then run lintian on
# it.  The .deb, its .changes and lintian's report land in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh packaging

version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_privacy.control)
changelog=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "$version" != "$changelog" ]; then
    echo "debian/changelog is at $changelog, pg_privacy.control at $version: add a changelog entry" >&2
    exit 1
fi

out=$PWD/build
work=$out/deb
rm -rf "$work"
mkdir -p "$work"
git archive --format=tar --prefix="pg-privacy-$version/" HEAD | tar -x -C "$work"
(
    cd "$work/pg-privacy-$version"
    dpkg-buildpackage -us -uc -b
) > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; echo "dpkg-buildpackage failed: $work/build.log" >&2; exit 1; }

deb=$(ls "$work"/postgresql-15-pg-privacy_"$version"_*.deb)
changes=$(ls "$work"/pg-privacy_"$version"_*.changes)
cp "$deb" "$changes" "$out/"
# lintian exits non-zero on errors (its default --fail-on=error)
lintian --info "$changes" | tee "$out/lintian.txt"
echo "lintian: $(grep -c '^E:' "$out/lintian.txt" || true) errors, $(grep -c '^W:' "$out/lintian.txt" || true) warnings"
echo "built $out/$(basename "$deb")"
