#!/usr/bin/env bash
# Finds bats assertions that can never fail: a command negated with a bare `!` (`! running slot1`,
# `x && ! grep -q y file`). Bash never exits on a negated command under `set -e` (bash(1),
# "set -e": "... or if the command's return value is being inverted with !"), so such a line
# passes whatever the command does. Write `run ! cmd` (bats checks the status), or an explicit
# `if cmd; then ...; fi`. Conditions (`if ! cmd; then`, `while ! cmd`, `[ ! -f x ]`) are fine, and
# here-documents (fake commands written by a test) are not bats code and are skipped.
#   lint-bats.sh [FILE|DIR...]     default: tests/ (every .bats and .bash file under it)
# Prints FILE:LINE: the line, for each one found; exits 1 if any, 2 on a missing path.
set -euo pipefail
cd "$(dirname "$0")/.."

paths=("$@")
((${#paths[@]})) || paths=(tests)
files=()
for p in "${paths[@]}"; do
  if [[ -d $p ]]; then
    mapfile -t -O "${#files[@]}" files < <(find "$p" -type f \( -name '*.bats' -o -name '*.bash' \) | LC_ALL=C sort)
  elif [[ -f $p ]]; then
    files+=("$p")
  else
    echo "lint-bats: no such file or directory: $p" >&2
    exit 2
  fi
done
((${#files[@]})) || exit 0

found=$(awk '
  FNR == 1 { heredoc = "" }
  # Inside a here-document: skip until its terminator line.
  heredoc != "" {
    line = $0
    if (strip_tabs) sub(/^\t+/, "", line)
    if (line == heredoc) heredoc = ""
    next
  }
  {
    code = $0
    sub(/^[ \t]+/, "", code)
    if (code ~ /^#/) next
    # Quoted text is data, not a command: match on the line without it.
    bare = code
    gsub(/"([^"\\]|\\.)*"/, "\"\"", bare)
    gsub(/\047[^\047]*\047/, "\047\047", bare)
    bad = 0
    # A statement that starts with a bare "!".
    if (bare ~ /^![ \t]/) bad = 1
    # A "!" after a list operator, ";", "then", "do" or "else", outside an if/elif/while/until condition.
    else if (bare !~ /^(if|elif|while|until)[ \t]/ && bare ~ /(&&|\|\||;|(^|[ \t])(then|do|else))[ \t]+![ \t]/) bad = 1
    if (bad) printf "%s:%d: %s\n", FILENAME, FNR, code
    # A here-document starts on this line: remember its terminator ("<<X", "<<-X", quoted or not).
    # ("<<<" is a here-string, not a here-document.)
    if (match($0, /(^|[^<])<<-?[ \t]*["\047]?[A-Za-z_][A-Za-z0-9_]*["\047]?/)) {
      op = substr($0, RSTART, RLENGTH)
      sub(/^[^<]/, "", op)
      strip_tabs = (op ~ /^<<-/)
      gsub(/^<<-?[ \t]*|["\047]/, "", op)
      heredoc = op
    }
  }
' "${files[@]}")

if [[ -n $found ]]; then
  printf '%s\n' "$found"
  printf 'lint-bats: %d bare "!" assertion(s) above can never fail a test: write "run ! cmd" or an explicit "if cmd; then ...; fi"\n' "$(grep -c . <<<"$found")" >&2
  exit 1
fi
