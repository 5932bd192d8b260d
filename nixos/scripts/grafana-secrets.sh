#!/usr/bin/env bash
# Usage: grafana-secrets.sh DIR USER GROUP
#
# Grafana's two secrets, made on the host the first time and kept (docs/observability.md): DIR/secret-key
# (encrypts what Grafana stores; NixOS 26.05 has no default any more) and DIR/admin-password (the
# admin's password for the first start; an operator reads it with sudo). Random, readable by USER
# and GROUP (Grafana's) and root only, never in the Nix store or the stack. Existing files are left as they are:
# a new secret key would make what Grafana encrypted unreadable.
# Exit codes: 0 ok, 1 error, 2 usage.
set -euo pipefail
shopt -s inherit_errexit

usage() {
  echo "Usage: grafana-secrets.sh DIR USER GROUP" >&2
  exit 2
}
log() { printf 'grafana-secrets: %s\n' "$*" >&2; }

[[ $# -eq 3 && $1 == /* && -n $2 && -n $3 ]] || usage
dir=$1 user=$2 group=$3
umask 077
install -d -m 0700 -o "$user" -g "$group" "$dir"
for name in secret-key admin-password; do
  file=$dir/$name
  if [[ -s $file ]]; then
    continue
  fi
  tmp=$(mktemp "$dir/.$name.XXXXXX")
  # 32 random bytes as 43 characters of base64url: no character Grafana's configuration treats specially.
  head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' >"$tmp"
  chown "$user:$group" "$tmp"
  chmod 0400 "$tmp"
  mv -f "$tmp" "$file"
  log "made $file"
done
