#!/usr/bin/env bash
# make dist: the PGXN archive pg_privacy-VERSION.zip of the committed tree
# (git archive of HEAD, under the folder pg_privacy-VERSION/), after checking
# META.json against the PGXN Meta Spec and the control file.  Written to
# the top of the tree, where PGXN's upload form expects to find it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh packaging

version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_privacy.control)
python3 tools/meta_check.py META.json pg_privacy.control
if ! git diff --quiet HEAD -- META.json pg_privacy.control; then
    echo "META.json or pg_privacy.control has uncommitted changes: the archive is made of HEAD" >&2
    exit 1
fi
zip=pg_privacy-$version.zip
git archive --format=zip --prefix="pg_privacy-$version/" -o "$zip" HEAD
# what PGXN reads from it: META.json at the top of the one folder
unzip -p "$zip" "pg_privacy-$version/META.json" | python3 -c 'import json,sys; m=json.load(sys.stdin); assert m["version"] == sys.argv[1], m["version"]' "$version"
echo "wrote $zip ($(unzip -Z1 "$zip" | grep -vc '/$') files, $(stat -c %s "$zip") bytes)"
