#!/usr/bin/env bash
# Installs the Debian packages jxc runs locally (nats-server, mosquitto) when they are missing.
# Only installs binaries: it never enables or starts a system-wide service; `jxc services up`
# runs its own instances on loopback with data under the project folder.
set -euo pipefail
missing=()
for pkg in nats-server mosquitto; do
    if ! command -v "$pkg" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$pkg" ]; then
        missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "jxc bootstrap: installing ${missing[*]} with apt-get"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
# policy-rc.d 101 keeps Debian's maintainer scripts from starting the system services.
$sudo sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
