#!/usr/bin/env bash
# Builds an HAProxy image laid out like the official one (docker-library/haproxy: uid/gid 99 `haproxy`, `haproxy
# -W -db` through docker-entrypoint.sh, config at /usr/local/etc/haproxy/haproxy.cfg, STOPSIGNAL SIGUSR1, and from
# 2.7 on WORKDIR /var/lib/haproxy) from an HAProxy binary on this host and the libraries ldd lists: no registry is
# needed. The same script builds the 2.6 image from Debian's /usr/sbin/haproxy and the 3.4 one from the upstream
# build in ../shared/haproxy.
# Usage: build-haproxy-image.sh TAG HAPROXY_BINARY socat|perl
#   socat: with socat (2.6 images built since late 2025);
#   perl:  no socat, perl-base only, as in the official image's Debian base (what `exec:` then relays through).
set -Eeuo pipefail
# set -e exits without a word; the test that called this script shows only its stderr.
trap 'echo "build-haproxy-image.sh: line $LINENO exited $?" >&2' ERR
tag=${1:?usage: build-haproxy-image.sh TAG HAPROXY_BINARY socat|perl} binary=${2:?} client=${3:?}
case $client in socat | perl) ;; *) echo "usage: $0 TAG HAPROXY_BINARY socat|perl" >&2; exit 64 ;; esac
[ -x "$binary" ] || { echo "build-haproxy-image.sh: $binary is not an executable" >&2; exit 66; }
# "HAProxy version 3.4.0-64a335366 2026/06/03 - ..." -> 3.4.0
# No reader here may stop before its input ends (head, awk's exit): under pipefail the writer's SIGPIPE fails the
# pipeline, and set -e ends the script. `ldconfig -p` writes 40 KB in 4 KB pieces, so that lost the race 1 time in 200.
version=$("$binary" -v | sed -n '0,/^HA-\{0,1\}Proxy version /s/^HA-\{0,1\}Proxy version \([0-9][0-9.]*\).*/\1/p')
[ -n "$version" ] || { echo "build-haproxy-image.sh: $binary -v names no version" >&2; exit 65; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
R=$work/rootfs
mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/usr/local/{bin,sbin,etc/haproxy} "$R"/var/lib/haproxy "$R"/run "$R"/etc
mkdir -m 1777 "$R/tmp"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
ln -s ../run "$R/var/run"

# shellcheck source=rootfs-lib.sh
. "$(dirname "$0")/rootfs-lib.sh"

cp -L "$binary" "$R/usr/local/sbin/haproxy"
copy_libs_of "$binary"
# glibc loads libgcc_s when a thread exits (no ldd line names it for a binary that does not link it, such as the
# upstream 3.4 build): without it HAProxy aborts at start with "libgcc_s.so.1 must be installed for pthread_exit to
# work". Debian's base image has it (libgcc-s1).
libgcc=$(ldconfig -p | awk '!found && $1 == "libgcc_s.so.1" && /x86-64|x86_64/ {print $NF; found = 1}')
[ -n "$libgcc" ] && mkdir -p "$R$(dirname "$libgcc")" && cp -L "$libgcc" "$R$libgcc"
copy_with_libs /usr/bin/dash
for tool in cat sleep; do copy_with_libs "/usr/bin/$tool"; done
ln -s dash "$R/usr/bin/sh"
[ -d /etc/haproxy/errors ] && cp -R /etc/haproxy/errors "$R/usr/local/etc/haproxy/errors"
case $client in
  socat) copy_with_libs /usr/bin/socat ;;
  perl)
    copy_with_libs /usr/bin/perl
    dpkg -L perl-base | while read -r file; do
      [ -f "$file" ] && [ ! -L "$file" ] || continue
      case $file in /usr/share/doc/* | /usr/share/man/*) continue ;; esac
      mkdir -p "$R$(dirname "$file")" && cp "$file" "$R$file"
    done
    ;;
esac
printf 'root:x:0:0::/root:/bin/sh\nhaproxy:x:99:99::/var/lib/haproxy:/usr/sbin/nologin\n' > "$R/etc/passwd"
printf 'root:x:0:\nhaproxy:x:99:\n' > "$R/etc/group"
chown 99:99 "$R/var/lib/haproxy"

# The official image's entrypoint (docker-library/haproxy): `haproxy ARGS` becomes `haproxy -W -db ARGS`.
cat > "$R/usr/local/bin/docker-entrypoint.sh" <<'ENTRY'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ]; then
	set -- haproxy "$@"
fi
if [ "$1" = 'haproxy' ]; then
	shift
	set -- haproxy -W -db "$@"
fi
exec "$@"
ENTRY
chmod 755 "$R/usr/local/bin/docker-entrypoint.sh"
cat > "$R/usr/local/etc/haproxy/haproxy.cfg" <<'CFG'
global
    log stdout format raw local0
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend http
    bind :8080
    http-request return status 200 content-type text/plain string "ok"
CFG

# The official image has no WORKDIR up to 2.6 (kept for compatibility) and /var/lib/haproxy from 2.7 on.
workdir=
case $version in 1.* | 2.[0-6].*) ;; *) workdir='WORKDIR /var/lib/haproxy' ;; esac

mkdir "$work/context"
tar --numeric-owner -C "$R" -cf "$work/context/rootfs.tar" .
cat > "$work/context/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HAPROXY_VERSION=$version
STOPSIGNAL SIGUSR1
ENTRYPOINT ["docker-entrypoint.sh"]
USER haproxy
$workdir
CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
DOCKERFILE
docker build --quiet --force-rm --label hotcert.test=1 -t "$tag" "$work/context" >/dev/null
