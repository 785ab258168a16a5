#!/bin/sh
# ubuntu: Ubuntu 24.04's package names, as a local APT repository.
# (Run inside the bootstrapped root with `sh -eu`, after the scripts before it.)
names=/opt/standin-apt
mkdir -p "$names" /usr/lib/standin
alias_package() {  # name, what it depends on; a program it installs, and the file it links to
  dir=$(mktemp -d)
  chmod 0755 "$dir"
  mkdir -p "$dir/DEBIAN"
  printf 'Package: %s\nVersion: 24.04-standin1\nArchitecture: all\n' "$1" > "$dir/DEBIAN/control"
  printf 'Maintainer: softy-pinko\nDepends: %s\nDescription: %s\n' "$2" \
    "Ubuntu 24.04 name on the stand-in" >> "$dir/DEBIAN/control"
  if [ -n "${3:-}" ]; then
    mkdir -p "$dir/usr/bin"
    ln -s "$4" "$dir/usr/bin/$3"
  fi
  dpkg-deb --build --root-owner-group "$dir" "$names/$1.deb" > /dev/null
  rm -rf "$dir"
}
alias_package python3.12 python3 python3.12 python3
alias_package python3.12-minimal python3-minimal
alias_package python3.12-venv "python3-venv, python3.12"
alias_package python3.12-dev "python3-dev, python3.12"
alias_package python3.12-full "python3-full, python3.12"
alias_package libpython3.12 libpython3-stdlib
alias_package libpython3.12-dev libpython3-dev
printf '#!/bin/sh\necho "add-apt-repository: %s" >&2\nexit 1\n' \
  "the stand-in for ubuntu:latest cannot reach Ubuntu PPAs" > /usr/lib/standin/add-apt-repository
chmod 0755 /usr/lib/standin/add-apt-repository
alias_package software-properties-common ca-certificates add-apt-repository \
  /usr/lib/standin/add-apt-repository
cd "$names" || exit 1
for deb in *.deb; do
  dpkg-deb -f "$deb"
  printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$deb" "$(stat -c %s "$deb")" \
    "$(sha256sum "$deb" | cut -d' ' -f1)"
done > Packages
echo "deb [trusted=yes] file:$names ./" > /etc/apt/sources.list.d/standin-ubuntu-names.list
