# Shared by the image build scripts here: filling a root filesystem tree "$R" from this host's own binaries.

# Copies a binary and every library ldd lists for it into "$R", at their own paths. mawk (Debian's awk) has no \s:
# ldd's "=> /path" lines and its bare "/lib64/ld-linux..." line are matched separately (dropping the loader makes
# every exec fail with "no such file or directory"). With /lib a link to usr/lib in the tree, each library lands
# where the loader looks for it.
copy_with_libs() {
  mkdir -p "$R$(dirname "$1")"
  cp -L "$1" "$R$1"
  copy_libs_of "$1"
}

# Only the libraries ldd lists for a binary (the binary itself goes where the caller puts it).
copy_libs_of() {
  local path libs
  # Assigned first: a failing command substitution in a for list does not stop a set -e script.
  libs=$(ldd "$1" | awk '/=>/ {print $3} $1 ~ /^\// {print $1}' | sort -u)
  for path in $libs; do
    mkdir -p "$R$(dirname "$path")"
    cp -L "$path" "$R$path"
  done
}

# This host's node and npm under "$1"/usr/local, laid out as the official Node.js images and tarballs have them.
copy_node() {
  local root=$1 npm_dir
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib"
  cp -L "$(command -v node)" "$root/usr/local/bin/node"
  cp -a "$npm_dir" "$root/usr/local/lib/npm"
  ln -s ../lib/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
}
