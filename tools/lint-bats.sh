#!/usr/bin/env bash
# Finds bats assertions that can never fail. Under `set -e` bash ignores the status of
#  - a command negated with a bare `!` (`! running slot1`, `x && ! grep -q y file`): bash(1),
#    "set -e": "... or if the command's return value is being inverted with !";
#  - every command of an `&&` list but the last (`running slot1 && running slot3` passes when
#    slot1 is down): "... any command executed in a && or || list except the command following
#    the final && or ||". The same holds inside a `{ ...; }` group and in a function body that
#    goes on after the list; a list that ends a function, a `( ... )` subshell or a `$( ... )`
#    gives its status to its caller and is fine.
# So such a line passes whatever its first command does. Write `run ! cmd` (bats checks the
# status), separate assertions, a `[[ a && b ]]` test, or an explicit `if cmd; then ...; fi`.
# Conditions (`if ! cmd; then`, `while a && b; do`, `[ ! -f x ]`), a list that ends in `|| ...`
# (it fails when its last command does), control flow (`cond && break`, `cond && return 0`),
# quoted text and here-documents (fake commands written by a test) are not reported.
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
  # scan(line): the line as bash sees its structure, keeping the quote and parenthesis state of
  # the lines before (a quoted string or a "$(" may span lines). Sets
  #   bare: the line with quoted text emptied (its quotes kept) and comments dropped
  #   top:  bare with the contents of ( ), $( ), <( ), (( )) and [[ ]] dropped: what runs at the
  #         level of the statement itself
  function scan(line,    i, n, c, c2, prev) {
    bare = ""; top = ""; n = length(line); prev = " "
    for (i = 1; i <= n; i++) {
      c = substr(line, i, 1); c2 = substr(line, i, 2)
      if (q == 1) { if (c == "\047") { q = 0; bare = bare c; if (!depth && !dbl) top = top c }; continue }
      if (q == 3) { if (c == "\\") { i++; continue }; if (c == "\047") { q = 0; bare = bare c; if (!depth && !dbl) top = top c }; continue }
      if (q == 2) { if (c == "\\") { i++; continue }; if (c == "\"") { q = 0; bare = bare c; if (!depth && !dbl) top = top c }; continue }
      if (c == "\\") { bare = bare substr(line, i, 2); if (!depth && !dbl) top = top substr(line, i, 2); i++; prev = "x"; continue }
      if (c == "#" && (prev == " " || prev == "\t")) break
      if (c2 == "$\047") { q = 3; bare = bare c2; if (!depth && !dbl) top = top c2; i++; prev = "x"; continue }
      if (c == "\047") { q = 1 } else if (c == "\"") { q = 2 }
      bare = bare c
      if (!depth && c2 == "[[") { dbl = 1; top = top "[["; i++; bare = bare "["; prev = "["; continue }
      if (dbl && c2 == "]]") { dbl = 0; top = top "]]"; i++; bare = bare "]"; prev = "]"; continue }
      if (c == "(") { if (!depth && !dbl) top = top c; depth++; prev = c; continue }
      if (c == ")") { if (depth) depth--; if (!depth && !dbl) top = top c; prev = c; continue }
      if (!depth && !dbl) top = top c
      prev = c
    }
  }
  # bad_list(stmt): an && list whose failing first part passes unnoticed (see the header).
  function bad_list(stmt,    rest, last, tail, m) {
    sub(/^[ \t]+/, "", stmt)
    while (match(stmt, /^(then|do|else|\{|\}|[A-Za-z0-9_*|.-]+\))[ \t]+/)) stmt = substr(stmt, RLENGTH + 1)
    if (stmt ~ /^(if|elif|while|until)[ \t]/ || stmt !~ /&&/) return 0
    rest = stmt; last = ""
    while (match(rest, /&&|\|\|/)) { last = substr(rest, RSTART, 2); tail = substr(rest, RSTART + 2); rest = tail }
    if (last == "||") return 0
    sub(/^[ \t]+/, "", tail); sub(/[ \t]+$/, "", tail)
    if (tail ~ /^(break|continue|return|exit)([ \t]+[0-9$].*)?$/ || tail ~ /^\{.*(exit|return)/) return 0
    return 1
  }
  FNR == 1 { heredoc = ""; q = 0; depth = 0; dbl = 0 }
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
    was_quoted = (q != 0); was_nested = (depth != 0)
    scan($0)
    sub(/^[ \t]+/, "", bare); sub(/^[ \t]+/, "", top)
    if (code ~ /^#/ || was_quoted) bad = 0
    else {
      bad = 0
      # A statement that starts with a bare "!".
      if (bare ~ /^![ \t]/) bad = 1
      # A "!" after a list operator, ";", "then", "do" or "else", outside an if/elif/while/until condition.
      else if (bare !~ /^(if|elif|while|until)[ \t]/ && bare ~ /(&&|\|\||;|(^|[ \t])(then|do|else))[ \t]+![ \t]/) bad = 1
      # An && list, statement by statement; in a one-line function the last one is its status.
      if (!bad && !was_nested) {
        nst = split(top, st, /;/)
        fn = (top ~ /^[A-Za-z_][A-Za-z0-9_:-]*\(\)[ \t]*\{/)
        if (fn) sub(/^[A-Za-z_][A-Za-z0-9_:-]*\(\)[ \t]*\{/, "", st[1])
        lastst = nst
        while (lastst > 0 && st[lastst] ~ /^[ \t]*\}?[ \t]*$/) lastst--
        for (k = 1; k <= nst; k++) if (!(fn && k == lastst) && bad_list(st[k])) bad = 1
      }
    }
    if (bad) printf "%s:%d: %s\n", FILENAME, FNR, code
    # A here-document starts on this line: remember its terminator ("<<X", "<<-X", quoted or not).
    # ("<<<" is a here-string, not a here-document.)
    if (q == 0 && match($0, /(^|[^<])<<-?[ \t]*["\047]?[A-Za-z_][A-Za-z0-9_]*["\047]?/)) {
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
  printf 'lint-bats: %d assertion(s) above can never fail a test (a bare "!", or an "a && b" whose "a" may fail unnoticed): write "run ! cmd", separate assertions, "[[ a && b ]]" or an explicit "if cmd; then ...; fi"\n' "$(grep -c . <<<"$found")" >&2
  exit 1
fi
