#!/usr/bin/env bash
# Install what building, testing and running pg_privacy needs, on Debian 12
# (with the argument packaging: what building its packages needs as well).
# Does nothing when everything is present.  Runs apt-get as root, or through
# sudo for another user.
set -euo pipefail

packages=(
    build-essential
    clang-14 llvm-14
    libfuzzer-14-dev
    libpq-dev
    postgresql-15
    postgresql-server-dev-15
    postgresql-contrib
    postgresql-15-pgtap
    libtap-parser-sourcehandler-pgtap-perl
    postgresql-15-cron
)
# make deb and make dist (tools/deb.sh, tools/dist.sh) need these too
if [ "${1:-}" = packaging ]; then
    packages+=(git zip unzip python3 debhelper fakeroot dpkg-dev lintian postgresql-server-dev-all pgxnclient)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
else
    SUDO=(sudo)
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# the Debian packages create and start a default cluster: not needed here
"${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
