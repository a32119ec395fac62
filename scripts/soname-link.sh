#!/usr/bin/env bash
# Usage: scripts/soname-link.sh DIR
# cargo writes target/<profile>/libwebex_auth.so, but its SONAME (set by build.rs) is
# libwebex_auth.so.<major>: programs linked against it look for that name at run time.
# This adds the link a system install has (dist.sh lays out the same in lib/).
set -euo pipefail
dir=$1
soname=$(readelf -d "$dir/libwebex_auth.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -n "$soname" ] || { echo "no SONAME in $dir/libwebex_auth.so" >&2; exit 1; }
ln -sfn libwebex_auth.so "$dir/$soname"
