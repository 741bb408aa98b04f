#!/usr/bin/env bash
# Builds an HAProxy image laid out like the official one (haproxy:2.6 on bookworm: uid/gid 99, `haproxy -W -db`
# through docker-entrypoint.sh, config under /usr/local/etc/haproxy, STOPSIGNAL SIGUSR1) from this host's own
# haproxy binary and the libraries ldd lists: no registry is needed. Usage: build-haproxy-image.sh TAG socat|perl
#   socat: with socat (images built since late 2025);  perl: without socat, with perl-base (the Debian variant).
set -euo pipefail
tag=$1 client=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
R=$work/rootfs
mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/usr/local/{bin,sbin,etc/haproxy} "$R"/var/lib/haproxy "$R"/run "$R"/etc
mkdir -m 1777 "$R/tmp"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
ln -s ../run "$R/var/run"

# shellcheck source=rootfs-lib.sh
. "$(dirname "$0")/rootfs-lib.sh"

copy_with_libs /usr/sbin/haproxy
copy_with_libs /usr/bin/dash
for tool in cat sleep; do copy_with_libs "/usr/bin/$tool"; done
mv "$R/usr/sbin/haproxy" "$R/usr/local/sbin/haproxy"
ln -s dash "$R/usr/bin/sh"
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
  *) echo "usage: $0 TAG socat|perl" >&2; exit 64 ;;
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

mkdir "$work/context"
tar --numeric-owner -C "$R" -cf "$work/context/rootfs.tar" .
cat > "$work/context/Dockerfile" <<'DOCKERFILE'
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
STOPSIGNAL SIGUSR1
ENTRYPOINT ["docker-entrypoint.sh"]
USER haproxy
CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
DOCKERFILE
docker build --quiet --force-rm --label hotcert.test=1 -t "$tag" "$work/context" >/dev/null
