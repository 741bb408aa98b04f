#!/usr/bin/env bash
# Builds hotcert_<version>_all.deb with dpkg-deb from this checkout: the compiled CLI and its production
# node_modules inside (installing needs no network and no npm), /usr/bin/hotcert, the systemd unit, and
# /etc/hotcert/hotcert.yaml as a conffile. Depends on Debian's nodejs (>= 20.19): Debian 13 needs nothing else.
# Usage: config/debian/build-deb.sh [OUTPUT_DIR]   (default: the checkout's root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo}
version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
app=$root/usr/lib/hotcert

mkdir -p "$app" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/hotcert" "$root/DEBIAN" "$root/usr/share/doc/hotcert"
(cd "$repo" && npm run --silent build)
# The two bundles are the program (npm run build); tsc's module tree beside them is for the tests.
mkdir -p "$app/dist"
cp -a "$repo/dist/main.js" "$repo/dist/main.js.map" "$repo/dist/assess-worker.js" "$repo/dist/assess-worker.js.map" "$app/dist/"
cp -a "$repo/package.json" "$repo/package-lock.json" "$app/"
# Production dependencies only, from the lock file (dockerode: everything else is in the bundle); install
# scripts are not run (none is needed: the optional native SSH transport of dockerode is not used).
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
rm -f "$app/package-lock.json"
# find stops at the first match itself: `find | grep -q` under pipefail reads as "none" when grep's early exit
# kills find with SIGPIPE.
if [ -n "$(find "$app/node_modules" -name '*.node' -print -quit)" ]; then
  echo "build-deb.sh: native modules found; the package would not be Architecture: all" >&2
  exit 1
fi
install -m 0755 "$here/hotcert.sh" "$root/usr/bin/hotcert"
# The unit as the repository has it, run from where the package installs hotcert.
sed 's#^ExecStart=/usr/local/bin/hotcert #ExecStart=/usr/bin/hotcert #' "$repo/systemd/hotcert.service" > "$root/lib/systemd/system/hotcert.service"
install -m 0644 "$repo/config/hotcert.example.yaml" "$root/etc/hotcert/hotcert.yaml"
install -m 0644 "$repo/README.md" "$root/usr/share/doc/hotcert/README.md"
printf 'hotcert %s, MIT license.\n' "$version" > "$root/usr/share/doc/hotcert/copyright"
for script in postinst prerm postrm; do install -m 0755 "$here/$script" "$root/DEBIAN/$script"; done
echo /etc/hotcert/hotcert.yaml > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$here/control.in" > "$root/DEBIAN/control"
deb=$out/hotcert_${version}_all.deb
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
