#!/usr/bin/env bash
# Builds a stand-in for the official certbot/certbot image from the cached Debian sid root (test/roots), whose
# certbot is 5.5: `docker import` of a tar of that root, with the official image's metadata (ENTRYPOINT
# ["certbot"], WORKDIR /opt/certbot, VOLUME /etc/letsencrypt /var/lib/letsencrypt, EXPOSE 80 443). The root also
# has openssl (what the official image carries beside certbot) and pebble 2.10, so the same image can run the ACME
# server of a test. No registry is needed.
# Usage: build-certbot-image.sh TAG
set -euo pipefail
tag=${1:?usage: build-certbot-image.sh TAG}
here=$(cd "$(dirname "$0")" && pwd)
root=$(bash "$here/../roots/build-debian-root.sh" sid)
[ -f "$root/.complete" ] || { echo "build-certbot-image.sh: $root is not a finished root" >&2; exit 1; }

# The tests chroot into this root with /proc, /dev and their temp dirs mounted inside, each in a private mount
# namespace of its own. None of those is visible here; anything mounted under the root in this namespace would be
# a leak, and its contents must not end up in an image: refuse, and never cross into another file system anyway.
if grep -q " $root[/ ]" /proc/self/mountinfo; then
  echo "build-certbot-image.sh: something is mounted under $root; not archiving it:" >&2
  grep " $root[/ ]" /proc/self/mountinfo | cut -d' ' -f5 >&2
  exit 1
fi

# Left out: the root's bookkeeping, the contents of the API file systems and /tmp, and the directories the chroot
# helpers create as mount points for this checkout (test/helpers/debian-roots.ts binds it at its own path).
checkout=$(cd "$here/../.." && pwd)
top=${checkout#/}
top=${top%%/*}
case $top in usr | var | etc | opt | srv | home | root | mnt | media | run | tmp) mount_point=./${checkout#/} ;; *) mount_point=./$top ;; esac
tar --numeric-owner --one-file-system -C "$root" \
  --exclude=./.complete --exclude=./.versions --exclude="$mount_point" \
  --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./tmp/*' \
  -cf - . \
  | docker import \
    --change 'LABEL hotcert.test=1' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    --change 'WORKDIR /opt/certbot' \
    --change 'VOLUME /etc/letsencrypt /var/lib/letsencrypt' \
    --change 'EXPOSE 80 443' \
    --change 'ENTRYPOINT ["certbot"]' \
    - "$tag" >/dev/null
