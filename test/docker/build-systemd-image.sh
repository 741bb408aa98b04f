#!/usr/bin/env bash
# Builds a Debian image that boots systemd as PID 1 (run it with --cap-add SYS_ADMIN --cgroupns=private
# --tmpfs /run --tmpfs /run/lock; --privileged is not needed), with haproxy (Debian's package and unit), socat,
# certbot and pebble. Debian 12 ("bookworm") gets this host's Node.js under /usr/local, as an operator installs it
# from nodejs.org (Debian 12's own nodejs is 18); Debian 13 ("trixie") gets Debian's own nodejs (20.19).
# Building takes minutes (debootstrap, then apt), so two things are kept in the cache directory
# (HOTCERT_TEST_CACHE, default /var/cache/hotcert-test): the debootstrap rootfs, and the finished image as a
# `docker save` tarball, keyed by this script and the host's node; a later run loads it in seconds.
# Usage: build-systemd-image.sh TAG [bookworm|trixie]
set -euo pipefail
tag=$1
suite=${2:-bookworm}
cache=${HOTCERT_TEST_CACHE:-/var/cache/hotcert-test}
mkdir -p "$cache/debs"
key=$( (cat "$0" "$(dirname "$0")/rootfs-lib.sh" "$(command -v node)"; echo "$suite") | sha256sum | cut -c1-16)
image_tar=$cache/systemd-image-$suite-$key.tar
if [ -s "$image_tar" ]; then
  docker load -q -i "$image_tar" >/dev/null
  docker tag "hotcert-cache/systemd:$key" "$tag"
  docker rmi "hotcert-cache/systemd:$key" >/dev/null
  exit 0
fi

rootfs_tar=$cache/debian-$suite-minbase.tar
if [ ! -s "$rootfs_tar" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase --cache-dir="$cache/debs" "$suite" "$rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; rm -rf "$rootfs"; exit 1; }
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  # Services must not start while packages are installed into the image (Debian's policy-rc.d convention).
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d" && chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$rootfs"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln "$rootfs_tar" "$work/rootfs.tar" 2>/dev/null || cp "$rootfs_tar" "$work/rootfs.tar"
# shellcheck source=rootfs-lib.sh
. "$(dirname "$0")/rootfs-lib.sh"
if [ "$suite" = bookworm ]; then
  copy_node "$work/node"
  node_package=
else
  mkdir -p "$work/node"
  node_package=nodejs
fi
extra_ca=
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  mkdir -p "$work/node/usr/local/share/ca-certificates"
  cp -L "$NODE_EXTRA_CA_CERTS" "$work/node/usr/local/share/ca-certificates/extra-ca.crt"
  extra_ca=1
fi
tar --numeric-owner -C "$work/node" -cf "$work/node.tar" .
cat > "$work/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
ENV container=docker PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       systemd systemd-sysv dbus procps ca-certificates openssl haproxy socat certbot pebble $node_package >/dev/null \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/sbin/policy-rc.d
ADD node.tar /
${extra_ca:+ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt}
# Units that have no business in a container (consoles, clock, read-only root remounts, first-boot wizard) are
# masked; haproxy is disabled until the test has written its configuration.
RUN systemctl mask getty.target console-getty.service systemd-timesyncd.service systemd-remount-fs.service \
      systemd-firstboot.service sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
    && systemctl disable haproxy.service \
    && ${extra_ca:+update-ca-certificates >/dev/null &&} true
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
DOCKERFILE
docker build --quiet --force-rm --label hotcert.test=1 -t "hotcert-cache/systemd:$key" "$work" >/dev/null
docker save -o "$image_tar.tmp" "hotcert-cache/systemd:$key" && mv "$image_tar.tmp" "$image_tar"
find "$cache" -maxdepth 1 -name "systemd-image-$suite-*.tar" ! -name "$(basename "$image_tar")" -delete
# Images cached before the suite was part of their name.
find "$cache" -maxdepth 1 -name 'systemd-image-????????????????.tar' -delete
docker tag "hotcert-cache/systemd:$key" "$tag"
docker rmi "hotcert-cache/systemd:$key" >/dev/null
