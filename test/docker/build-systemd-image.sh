#!/usr/bin/env bash
# Builds a Debian 12 image that boots systemd as PID 1 (run it with --cap-add SYS_ADMIN --cgroupns=private
# --tmpfs /run --tmpfs /run/lock; --privileged is not needed), with haproxy (Debian's package and unit), socat,
# certbot, pebble, and this host's Node.js under /usr/local as an operator would install it from nodejs.org.
# The debootstrap rootfs is the slow part (minutes): it is kept as a tarball, with the .debs, in the cache
# directory (HOTCERT_TEST_CACHE, default /var/cache/hotcert-test) and reused while the package list is unchanged.
# Usage: build-systemd-image.sh TAG
set -euo pipefail
tag=$1
cache=${HOTCERT_TEST_CACHE:-/var/cache/hotcert-test}
packages=systemd,systemd-sysv,dbus,procps,ca-certificates,openssl,haproxy,socat,certbot,pebble,python3-minimal
key=$(printf '%s bookworm minbase v1' "$packages" | sha256sum | cut -c1-12)
rootfs_tar=$cache/systemd-rootfs-$key.tar
mkdir -p "$cache/debs"

if [ ! -s "$rootfs_tar" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include="$packages" --cache-dir="$cache/debs" bookworm "$rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$rootfs"
  trap - EXIT
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln "$rootfs_tar" "$work/rootfs.tar" 2>/dev/null || cp "$rootfs_tar" "$work/rootfs.tar"
node_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$work/node/usr/local/bin" "$work/node/usr/local/lib"
cp -L "$(command -v node)" "$work/node/usr/local/bin/node"
cp -a "$node_dir" "$work/node/usr/local/lib/npm"
ln -s ../lib/npm/bin/npm-cli.js "$work/node/usr/local/bin/npm"
ln -s ../lib/npm/bin/npx-cli.js "$work/node/usr/local/bin/npx"
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
ADD node.tar /
ENV container=docker PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
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
docker build --quiet --force-rm --label hotcert.test=1 -t "$tag" "$work" >/dev/null
