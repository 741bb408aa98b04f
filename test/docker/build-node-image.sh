#!/usr/bin/env bash
# Builds a stand-in for the Node base image the Dockerfile names, from this host's node and npm and the libraries
# ldd lists (no registry is needed), so the real Dockerfile builds unchanged. It has what the Dockerfile's steps
# run: sh, a few coreutils, flock, node, npm. When the host trusts an extra CA through NODE_EXTRA_CA_CERTS (a
# TLS-intercepting proxy), the image carries it too, or npm ci inside the build fails.
# Usage: build-node-image.sh TAG
set -euo pipefail
tag=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
R=$work/rootfs
mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/usr/local/{bin,lib} "$R"/etc/ssl/certs "$R"/root "$R"/home/node
mkdir -m 1777 "$R/tmp"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done

# shellcheck source=rootfs-lib.sh
. "$(dirname "$0")/rootfs-lib.sh"

copy_with_libs "$(command -v node)"
rm "$R$(command -v node)"
copy_node "$R"
# flock: util-linux is Essential in Debian, so the official bookworm-slim images have it (hotcert's process lock
# runs it).
for tool in dash ln mkdir rm cat ls env chmod cp mv flock; do copy_with_libs "$(command -v "$tool")"; done
ln -s dash "$R/usr/bin/sh"
cp -L /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"
extra_ca=
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp -L "$NODE_EXTRA_CA_CERTS" "$R/etc/ssl/certs/extra-ca.pem"
  extra_ca='ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/extra-ca.pem'
fi
printf 'root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$R/etc/group"
chown 1000:1000 "$R/home/node"

mkdir "$work/context"
tar --numeric-owner -C "$R" -cf "$work/context/rootfs.tar" .
cat > "$work/context/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=$(node -p process.versions.node)
$extra_ca
CMD ["node"]
DOCKERFILE
docker build --quiet --force-rm --label hotcert.test=1 -t "$tag" "$work/context" >/dev/null
