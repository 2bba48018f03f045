#!/usr/bin/env bash
# Installs the real block clients the tests and benchmarks drive, from Debian's packages, when
# missing: qemu-img/qemu-io/qemu-nbd (qemu-utils), nbdinfo/nbdcopy/nbdsh (libnbd-bin), fio; chromium
# (the console tests, headless), prometheus (the metrics test scrapes a cluster) and nftables (the
# network-fault tests drop packets between network namespaces; iproute2 builds them).
set -euo pipefail
missing=()
command -v qemu-io >/dev/null 2>&1 || missing+=(qemu-utils)
command -v nbdinfo >/dev/null 2>&1 || missing+=(libnbd-bin)
command -v fio >/dev/null 2>&1 || missing+=(fio)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "blackstart: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian's packages..." >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
