#!/usr/bin/env bash
# microvm-infra: install secret files root-only (directory 0700, file 0600, written to a temporary
# file and renamed). The paths are the arguments; the contents come on stdin, one base64 line per
# path in the same order, so no secret is ever in a command line, an environment variable or the
# output.
#   secrets.sh PATH...      stdin: one base64 line per PATH
set -euo pipefail
umask 077
log() { printf 'microvm-infra: %s\n' "$*" >&2; }
for path in "$@"; do
  if [[ $path != /* || $path == */ || /$path/ == */../* || /$path/ == */./* || $path == /nix/* ]]; then
    log "secret file path must be absolute, outside /nix, without . or ..; got '$path'; nothing more installed"
    exit 2
  fi
done
for path in "$@"; do
  if ! IFS= read -r content; then
    log "stdin ended before the content of $path; nothing more installed"
    exit 1
  fi
  dir=${path%/*}
  mkdir -p "$dir"
  chmod 0700 "$dir"
  tmp=$(mktemp "$dir/.tmp.XXXXXX")
  if ! printf '%s' "$content" | base64 -d >"$tmp" 2>/dev/null; then
    rm -f "$tmp"
    log "the content for $path is not valid base64; nothing written there"
    exit 1
  fi
  chmod 0600 "$tmp"
  mv -f "$tmp" "$path"
  log "installed $path (root-only)"
done
