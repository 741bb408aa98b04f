#!/usr/bin/env bash
# Builds a Debian root file system (debootstrap minbase, then Debian's own haproxy, certbot and nodejs from that
# suite) that the tests chroot into, so the suite runs against the versions a Debian 13 or sid machine ships:
#   trixie: haproxy 3.0, certbot 4.0, nodejs 20.19      sid: haproxy 3.2, certbot 5.5, nodejs 24, pebble 2.10
# (the sid root is also the certbot image of the container suites, with pebble beside certbot as their ACME server)
# A root takes about a minute to build, so it is kept in the cache directory (HOTCERT_TEST_CACHE, default
# /var/cache/hotcert-test) as roots/SUITE-KEY/, KEY a hash of this script: a changed script builds a new root and
# the old one is removed. The root is built under a temporary name and renamed into place only when complete, so an
# interrupted build never leaves a root that looks finished. Every mount (debootstrap's own, and /proc and /dev
# for apt) is made in a private mount namespace, so none can outlive the build or leak into the host.
# Prints the root's path on stdout; progress goes to stderr.
# Usage: build-debian-root.sh trixie|sid
set -euo pipefail
suite=${1:?usage: build-debian-root.sh trixie|sid}
case $suite in trixie | sid) ;; *) echo "build-debian-root.sh: unknown suite '$suite' (trixie or sid)" >&2; exit 64 ;; esac
packages=(haproxy certbot nodejs ca-certificates)
[ "$suite" = sid ] && packages+=(pebble)

cache=${HOTCERT_TEST_CACHE:-/var/cache/hotcert-test}
roots=$cache/roots
key=$( (cat "$0"; echo "$suite") | sha256sum | cut -c1-16)
root=$roots/$suite-$key
[ -f "$root/.complete" ] && { echo "$root"; exit 0; }

mkdir -p "$roots" "$cache/debs"
# Two test runs (or two suites) asking for the same root at once: one builds, the other waits and reuses it.
exec 9>"$roots/.$suite.lock"
flock 9
[ -f "$root/.complete" ] && { echo "$root"; exit 0; }

mounted_under() { grep -q " $1[/ ]" /proc/self/mountinfo; }
# Holding the lock, any build directory still here is what an interrupted build left.
for stale in "$roots/.build-$suite"-*; do
  [ -d "$stale" ] && ! mounted_under "$stale" && rm -rf "$stale"
done

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "build-debian-root.sh: installing debootstrap" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

started=$(date +%s)
echo "build-debian-root.sh: building the $suite root in $root (about a minute; log: $roots/$suite.log)" >&2
work=$(mktemp -d "$roots/.build-$suite-XXXXXX")
# mktemp makes it 0700: apt's unprivileged _apt user could not reach its download directory, and a root's / is 0755.
chmod 755 "$work"
cleanup() { mounted_under "$work" || rm -rf "$work"; }
trap cleanup EXIT
log=$roots/$suite.log
: >"$log"
unshare -m --propagation private \
  debootstrap --variant=minbase --cache-dir="$cache/debs" "$suite" "$work" http://deb.debian.org/debian >>"$log" 2>&1 \
  || { tail -20 "$log" >&2; exit 1; }

# sid's Release file is past its Valid-Until on this clock (and a stable suite's can be later on): the test roots
# want the packages as they are, not a fresh signature.
echo 'Acquire::Check-Valid-Until "false";' >"$work/etc/apt/apt.conf.d/99no-valid-until"
# Package scripts must not start services in the root (Debian's policy-rc.d convention): the haproxy package would
# otherwise start haproxy with its default configuration.
printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d" && chmod 755 "$work/usr/sbin/policy-rc.d"
unshare -m --propagation private sh -c '
  root=$1; shift
  mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" || exit 1
  chroot "$root" apt-get update -qq || exit 1
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends "$@"
' sh "$work" "${packages[@]}" >>"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
chroot "$work" apt-get clean
rm -rf "$work"/var/lib/apt/lists/*

if mounted_under "$work"; then
  echo "build-debian-root.sh: something is still mounted under $work; not using it" >&2
  exit 1
fi
chroot "$work" dpkg-query -W -f='${Package} ${Version}\n' "${packages[@]}" >"$work/.versions"
touch "$work/.complete"
mv -T "$work" "$root"
trap - EXIT
for old in "$roots/$suite"-*; do
  [ "$old" = "$root" ] || [ ! -d "$old" ] && continue
  if mounted_under "$old"; then
    echo "build-debian-root.sh: keeping $old: something is mounted in it" >&2
  else
    rm -rf "$old"
  fi
done
echo "build-debian-root.sh: $suite root ready in $(($(date +%s) - started)) s: $(tr '\n' ' ' <"$root/.versions")" >&2
echo "$root"
