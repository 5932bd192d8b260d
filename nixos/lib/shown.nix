# value -> the text a message quotes of it: lib/redact.ts `shown`, in Nix. A message of the host's
# check (validate.nix, observability.nix, guest-modules.nix) ends in the deployment's output, in
# Pulumi's and CI's logs, so it never echoes a value whole: at most `limit` characters of its JSON,
# with the full length named, and nothing at all of a value that looks like a secret (a private
# key, a Tailscale key, an AWS key or any other long random token pasted into the wrong field).
#   shown "slot1"                 -> "\"slot1\""
#   shown (a 4 KiB string)        -> "\"xxxx...\" (4096 characters)"
#   shown "tskey-auth-..."        -> "a value that looks like a Tailscale key (not shown)"
# The shapes are lib/redact.ts's secretShapes (their sources are written there), read the way POSIX
# ERE can; a random-looking run (lib/redact.ts looksRandom from 20 characters rather than 28 and
# without its entropy bound, so the host's check may hide more than the program does, never less;
# tests/fixtures/shown.json is the table both are run against) counts as a token. Only the first
# `window` characters are searched: nothing past them is ever shown.
#
# Builtins only (no nixpkgs), so the tests evaluate it with a bare `nix-instantiate --eval`.
let
  inherit (builtins)
    any
    elemAt
    filter
    genList
    length
    isList
    isString
    match
    split
    stringLength
    substring
    toJSON
    ;

  # lib/redact.ts echoLimit (tests/fixtures/shown.json holds both to the same texts).
  limit = 40;
  window = limit + 64;

  has = re: s: match ".*(${re}).*" s != null;
  # The runs of S that match RE (a regex without groups of its own).
  runs = re: s: map (m: builtins.head m) (filter isList (split "(${re})" s));
  mixed = r: has "[A-Z]" r && has "[a-z]" r && has "[0-9]" r;
  hexToken = r: has "[0-9]" r && has "[a-fA-F]" r;
  # lib/redact.ts looksRandom without its entropy bound: 20 or more letters and digits (separators
  # left out) of both cases and digits whose class (upper, lower, digit) changes between at least 2
  # of 5 neighbours. Words, CamelCase names and ids like a device path's change far less often.
  classOf = c: if match "[A-Z]" c != null then 0 else if match "[a-z]" c != null then 1 else 2;
  randomRun =
    r:
    let
      alnum = builtins.replaceStrings [ "+" "/" "=" "_" "-" ] [ "" "" "" "" "" ] r;
      n = stringLength alnum;
      cls = genList (i: classOf (substring i 1 alnum)) n;
      changes = length (filter (i: elemAt cls i != elemAt cls (i + 1)) (genList (i: i) (n - 1)));
    in
    n >= 20 && mixed alnum && changes * 5 >= 2 * (n - 1);

  # [ { kind; found = text -> bool; } ], first match wins (the wording lib/redact.ts uses).
  shapes = [
    {
      kind = "a private key";
      found = has "PRIVATE KEY|b3BlbnNzaC1rZXktdjE|PuTTY-User-Key-File-";
    }
    {
      kind = "a Tailscale key";
      found = has "tskey-";
    }
    {
      kind = "an AWS access key id";
      found = has "(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}";
    }
    {
      kind = "a GitHub token";
      found = has "gh[pousr]_[A-Za-z0-9]{30}|github_pat_";
    }
    {
      kind = "a Pulumi access token";
      found = has "pul-[0-9a-f]{40}";
    }
    {
      # 40 or more base64 characters with both cases, a digit and a '/' or '+'.
      kind = "an AWS secret access key (or another base64 secret)";
      found = s: any (r: mixed r && has "[/+]" r) (runs "[A-Za-z0-9/+]{40,}" s);
    }
    {
      kind = "a secret key or token (a long random string)";
      found = s: any randomRun (runs "[A-Za-z0-9+/=_-]{20,}" s) || any hexToken (runs "[0-9a-f]{32,}|[0-9A-F]{32,}" s);
    }
  ];

  # What secret TEXT looks like, or null.
  secretKind =
    text:
    let
      w = substring 0 window text;
      hits = filter (shape: shape.found w) shapes;
    in
    if hits == [ ] then null else (builtins.head hits).kind;

  shown =
    value:
    let
      text = if isString value then value else toJSON value;
      kind = secretKind text;
      head = toJSON (substring 0 limit text);
    in
    if kind != null then
      "a value that looks like ${kind} (not shown)"
    else if stringLength text <= limit then
      toJSON value
    else
      "${substring 0 (stringLength head - 1) head}...\" (${toString (stringLength text)} characters)";
in
{
  inherit limit secretKind shown;
  # A key of an object as a message names it: as it is when it is a plain identifier, else shown.
  key = k: if match "[A-Za-z_][A-Za-z0-9_]{0,39}" k != null && secretKind k == null then k else shown k;
}
