# shellcheck shell=bash
# Prometheus text exposition (format 0.0.4) for the host's textfile exporters: shared by
# slot-metrics.sh and deploy-metrics.sh. Run from a checkout, each script sources this file; the
# observability module (../modules/observability.nix) concatenates it in front of each, so it is
# already defined there.
#
# A family is declared once with `family NAME TYPE HELP`, then its samples follow with
# `sample NAME LABELS VALUE` (LABELS: `key="value",...` made with `label`), so every family has its
# HELP and TYPE lines and its samples together, as the format requires.

# family NAME TYPE HELP: the family's HELP and TYPE lines.
family() {
  printf '# HELP %s %s\n# TYPE %s %s\n' "$1" "$3" "$1" "$2"
}

# label KEY VALUE: KEY="VALUE", with the value escaped as the format says (\ " and newline).
label() {
  local v=${2//\\/\\\\}
  v=${v//\"/\\\"}
  v=${v//$'\n'/\\n}
  printf '%s="%s"' "$1" "$v"
}

# sample NAME LABELS VALUE: one sample line (LABELS may be empty).
sample() {
  if [[ -n $2 ]]; then
    printf '%s{%s} %s\n' "$1" "$2" "$3"
  else
    printf '%s %s\n' "$1" "$3"
  fi
}

# is_number TEXT: TEXT is a decimal number (integer or fraction, optionally negative).
is_number() {
  [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]
}

# write_output FILE: stdin to FILE atomically (a temporary file in the same directory, renamed),
# readable by the node exporter; FILE "-" is stdout. The textfile collector never sees half a file.
write_output() {
  local file=$1 tmp
  if [[ $file == - ]]; then
    cat
    return
  fi
  tmp=$(mktemp "${file%/*}/.${file##*/}.XXXXXX")
  if ! cat >"$tmp" || ! chmod 0644 "$tmp" || ! mv -f "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
}
