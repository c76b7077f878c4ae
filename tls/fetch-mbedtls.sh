#!/bin/sh
# Fetch Debian 13's mbedTLS 3.6 development packages into DEST (a folder inside the build folder)
# with a private apt configuration, for systems whose own mbedTLS is older (Debian 12 has 2.28).
# The mirror is read from the machine's own apt sources; the system's apt configuration, package
# database and cache are never touched. Usage: fetch-mbedtls.sh DEST
set -eu

dest=${1:?usage: fetch-mbedtls.sh DEST}
suite=${CAPROBE_MBEDTLS_SUITE:-trixie}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
pkgs="libmbedtls-dev libmbedcrypto16 libmbedtls21 libmbedx509-7"

# Prints the folder of the static libraries on success (the only line on stdout).
if [ -f "$dest/.done" ]; then
    cat "$dest/.done"
    exit 0
fi

# The first Debian archive (not the security archive) named in the machine's apt sources.
mirror=$(
    {
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }'
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }'
    } | grep -v -e security -e '^$' | grep '/debian/*$' | head -n 1
)
if [ -z "$mirror" ]; then
    echo "fetch-mbedtls: no Debian archive found in /etc/apt/sources.list*; install mbedTLS >= 3.6" >&2
    echo "fetch-mbedtls: yourself and configure with -Dmbedtls_prefix=DIR" >&2
    exit 1
fi
if [ ! -r "$keyring" ]; then
    echo "fetch-mbedtls: $keyring missing (apt-get install debian-archive-keyring)" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)

apt_root="$dest/apt"
rm -rf "$apt_root" "$dest/root"
mkdir -p "$apt_root/lists/partial" "$apt_root/archives/partial" "$apt_root/etc/preferences.d" \
    "$apt_root/etc/sources.list.d" "$apt_root/debs" "$dest/root"
: >"$apt_root/status"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt_root/etc/sources.list"

set -- -o "Dir::Etc::sourcelist=$apt_root/etc/sources.list" \
    -o "Dir::Etc::sourceparts=$apt_root/etc/sources.list.d" \
    -o "Dir::Etc::preferencesparts=$apt_root/etc/preferences.d" \
    -o "Dir::State::lists=$apt_root/lists" -o "Dir::State::status=$apt_root/status" \
    -o "Dir::Cache=$apt_root" -o "Dir::Cache::archives=$apt_root/archives" \
    -o "APT::Architecture=$arch" -o "APT::Architectures=$arch" -o "Acquire::Languages=none" \
    -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1"

echo "fetch-mbedtls: mbedTLS 3.6 from $mirror $suite into $dest" >&2
apt-get -q "$@" update >"$apt_root/update.log" 2>&1 || {
    cat "$apt_root/update.log" >&2
    echo "fetch-mbedtls: apt-get update of the private $suite list failed" >&2
    exit 1
}
(cd "$apt_root/debs" && apt-get -q "$@" download $pkgs) >"$apt_root/download.log" 2>&1 || {
    cat "$apt_root/download.log" >&2
    echo "fetch-mbedtls: download of $pkgs failed" >&2
    exit 1
}
for deb in "$apt_root"/debs/*.deb; do
    dpkg-deb -x "$deb" "$dest/root"
done
libdir=$(find "$dest/root" -name libmbedtls.a -printf '%h\n' | head -n 1)
if [ -z "$libdir" ] || [ ! -f "$dest/root/usr/include/mbedtls/version.h" ]; then
    echo "fetch-mbedtls: the packages hold no static libmbedtls.a or headers" >&2
    exit 1
fi
rm -rf "$apt_root/lists" "$apt_root/archives"
echo "$libdir" >"$dest/.done"
echo "$libdir"
