#!/usr/bin/env bash
# Prints the path of an OpenSSL 3.5 command for the interoperability tests, fetching it
# on first use. Debian 12 ships OpenSSL 3.0, which knows no ML-KEM, ML-DSA or SLH-DSA;
# Debian 13's OpenSSL 3.5 packages are downloaded with apt (private state, nothing is
# installed system-wide), unpacked under .cache/openssl35 together with the C library
# they were built against, and run through that library's own loader.
set -euo pipefail
cd "$(dirname "$0")/.."
W="$PWD/.cache/openssl35"
R="$W/root"
if [ ! -x "$W/openssl" ]; then
    rm -rf "$W"
    mkdir -p "$W/apt/sources.list.d" "$W/apt/preferences.d" "$W/apt/apt.conf.d" \
        "$W/state/lists/partial" "$W/cache/archives/partial" "$R"
    cat > "$W/apt/sources.list.d/trixie.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    O=(-o "Dir::Etc=$W/apt" -o "Dir::State=$W/state" -o "Dir::Cache=$W/cache"
       -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$W/apt/sources.list.d"
       -o "APT::Sandbox::User=root")
    apt-get "${O[@]}" -qq update >&2
    (cd "$W" && apt-get "${O[@]}" -qq download openssl libssl3t64 libc6 libzstd1 >&2)
    for d in "$W"/*.deb; do dpkg -x "$d" "$R"; done
    cat > "$W/openssl" <<WRAP
#!/bin/sh
exec "$R/usr/lib64/ld-linux-x86-64.so.2" --library-path "$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin/openssl" "\$@"
WRAP
    chmod +x "$W/openssl"
fi
"$W/openssl" version >&2
echo "$W/openssl"
