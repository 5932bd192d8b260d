#!/usr/bin/env bats
# Egress policies and published ports, for real: the lab of lab.bash for
# tests/fixtures/infra/workloads.json, plus what the host runs for an allowlist slot, from the text
# nixos/lib/egress.nix generates: the real nginx (stream + ssl_preread, http) as uid 60, as NixOS's
# nginx user, and a dnsmasq per allowlist slot on its gateway; a stand-in for systemd-resolved on
# 127.0.0.53. "The internet" gets a DNS server (dnsmasq) and TLS/HTTP servers for an allowed, a
# wildcard-allowed and a denied name, each saying who it is; the denied one logs every connection.
#   slot1: egress internet; port 80 published to the internet on 8080 (from 203.0.113.0/24), 8080 to the tailnet
#   slot2: egress allowlist [allowed.example, *.wild.example]; 8080 to the tailnet
#   slot3: egress none; port 22 published to the internet on 2203
# (isolation.bats runs the whole isolation matrix on this fixture as well.)
# shellcheck disable=SC2154,SC2030,SC2031 # bats' run sets $stderr and $status per test

load helpers
load lab
load "$REPO_ROOT/tests/bats/lib/nginx"

ALLOWED=203.0.113.20 WILD=203.0.113.21 DENIED=203.0.113.30 DNS=203.0.113.53
GOOD_SOURCE=203.0.113.77 # inside slot1's published sources
BAD_SOURCE=192.0.2.77    # outside every published source

setup_file() {
  require_root
  nix_setup
  require_tools jq nft ip socat ping timeout ss sysctl nginx dnsmasq openssl curl dig setpriv
  export FIXTURE_FILE="$FIXTURES/workloads.json"
  lab_up "$FIXTURE_FILE"
  read -r LAB _ <"$BATS_FILE_TMPDIR/labs"
  lab_use "$LAB" "$FIXTURE_FILE"
  internet_services
  host_services
}

teardown_file() {
  labs_down
  if [[ -s "$BATS_FILE_TMPDIR/nginx-dir" ]]; then rm -rf "$(cat "$BATS_FILE_TMPDIR/nginx-dir")"; fi
}

setup() {
  read -r LAB _ <"$BATS_FILE_TMPDIR/labs"
  lab_use "$LAB" "$FIXTURES/workloads.json"
  LEAKS="$BATS_TEST_TMPDIR/leaks"
  : >"$LEAKS"
  DENIED_LOG="$BATS_FILE_TMPDIR/denied.log"
}

# wait_udp NS ADDR PORT: until something listens on UDP ADDR:PORT in NS (up to 10 s).
wait_udp() {
  for _ in {1..100}; do
    in_ns "$1" ss -Hlun "sport = :$3" | grep -qF "$2:$3" && return 0
    sleep 0.1
  done
  echo "nothing listens on udp $2:$3 in $1" >&2
  return 1
}

# The internet: a DNS server and, per name, an HTTPS and an HTTP server that say who they are.
internet_services() {
  local dir="$BATS_FILE_TMPDIR/inet" ip
  mkdir -p "$dir"
  for ip in "$ALLOWED" "$WILD" "$DENIED" "$DNS" "$GOOD_SOURCE" "$BAD_SOURCE"; do
    ip -n "$NS_INET" addr add "$ip/32" dev lo
  done
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=lab -keyout "$dir/key.pem" -out "$dir/cert.pem" \
    -addext "subjectAltName=DNS:allowed.example,DNS:*.wild.example,DNS:denied.example" 2>/dev/null
  cat "$dir/key.pem" "$dir/cert.pem" >"$dir/server.pem"
  # An HTTP/1.0 responder: reads the request head, answers NAME; LOG (if given) records the visit.
  cat >"$dir/respond" <<'SH'
#!/bin/bash
[[ -z ${2:-} ]] || echo "$SOCAT_PEERADDR" >>"$2"
while IFS= read -r line && [[ ${line%$'\r'} != "" ]]; do :; done
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n%s\n' "$1"
SH
  chmod +x "$dir/respond"
  : >"$BATS_FILE_TMPDIR/denied.log"
  local name addr log
  for name in allowed wild denied; do
    case $name in allowed) addr=$ALLOWED log= ;; wild) addr=$WILD log= ;; denied) addr=$DENIED log=$BATS_FILE_TMPDIR/denied.log ;; esac
    serve "$NS_INET" "OPENSSL-LISTEN:443,bind=$addr,cert=$dir/server.pem,verify=0,fork,reuseaddr" "EXEC:$dir/respond $name-https $log"
    serve "$NS_INET" "TCP-LISTEN:80,bind=$addr,fork,reuseaddr" "EXEC:$dir/respond $name-http $log"
    serve "$NS_INET" "TCP-LISTEN:8443,bind=$addr,fork,reuseaddr" "SYSTEM:echo $name-8443"
  done
  in_ns "$NS_INET" dnsmasq --keep-in-foreground --pid-file --user=nobody --group=nogroup --no-resolv --no-hosts \
    --listen-address="$DNS" --bind-interfaces \
    --address=/allowed.example/"$ALLOWED" --address=/wild.example/"$WILD" --address=/denied.example/"$DENIED" \
    --address=/meta.wild.example/"$METADATA" --address=/slot3.wild.example/"${ADDRESSES[2]}" \
    </dev/null >/dev/null 2>&1 3>&- &
  wait_listening "$NS_INET" 443
  wait_listening "$NS_INET" 8443
  wait_udp "$NS_INET" "$DNS" 53
}

# The host: the resolver stub, each allowlist slot's dnsmasq and nginx, all from lib/egress.nix.
host_services() {
  local egress slot dir
  egress=$(generate egress "$FIXTURE_FILE")
  # systemd-resolved's stub on the host, forwarding to "the internet's" DNS server.
  in_ns "$NS_HOST" dnsmasq --keep-in-foreground --pid-file --user=nobody --group=nogroup --no-resolv --no-hosts \
    --listen-address=127.0.0.53 --bind-interfaces --server="$DNS" </dev/null >/dev/null 2>&1 3>&- &
  for slot in $(jq -r '.dnsmasq | keys[]' <<<"$egress"); do
    jq -r --arg s "$slot" '.dnsmasq[$s]' <<<"$egress" >"$BATS_FILE_TMPDIR/dns-$slot.conf"
    in_ns "$NS_HOST" dnsmasq --keep-in-foreground --pid-file --user=nobody --group=nogroup \
      --conf-file="$BATS_FILE_TMPDIR/dns-$slot.conf" </dev/null >/dev/null 2>&1 3>&- &
  done
  # nginx runs as uid 60 (no root master), in a directory that uid can write.
  dir=$(mktemp -d /tmp/microvm-egress-lab.XXXXXX)
  echo "$dir" >"$BATS_FILE_TMPDIR/nginx-dir"
  mkdir -p "$dir/tmp"
  # The proxy logs its decisions to the host's syslog socket (the journal); here, a receiver's.
  serve "$NS_HOST" -u "UNIX-RECV:$dir/log.sock,mode=0666" "OPEN:$BATS_FILE_TMPDIR/egress.log,creat,append"
  for _ in {1..300}; do [[ -S $dir/log.sock ]] && break; sleep 0.1; done # up to 30 s on a busy machine
  jq -r .nginx.stream <<<"$egress" | sed "s|unix:/dev/log|unix:$dir/log.sock|" >"$dir/stream.conf"
  jq -r .nginx.http <<<"$egress" | sed "s|unix:/dev/log|unix:$dir/log.sock|" >"$dir/http.conf"
  write_nginx_conf "$dir" "$dir/access.log"
  chown -R 60:60 "$dir"
  in_ns "$NS_HOST" setpriv --reuid=60 --regid=60 --clear-groups \
    nginx -g 'daemon off;' -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >/dev/null 2>&1 3>&- &
  local port
  for port in $(jq -r '.ports[] | .tls, .http' <<<"$egress"); do
    wait_listening "$NS_HOST" "$port" || { cat "$dir/error.log" >&2; return 1; }
  done
  for slot in $(jq -r '.dnsmasq | keys[]' <<<"$egress"); do
    wait_udp "$NS_HOST" "$(jq -r --arg s "$slot" '.slots[] | select(.name == $s) | .gateway' "$FIXTURE_FILE")" 53
  done
}

# fetch NS URL [CURL-ARG...]: the body curl gets (TLS not verified: the lab's certificate).
fetch() {
  local ns=$1 url=$2
  shift 2
  in_ns "$ns" curl -sfk --max-time 8 --connect-timeout 4 "$@" "$url" 2>/dev/null
}

# resolve NS SERVER NAME: the A records SERVER gives NS for NAME (empty when refused or unreachable).
resolve() {
  in_ns "$1" dig +short +time=2 +tries=1 "@$2" "$3" A 2>/dev/null | grep -E '^[0-9.]+$'
}

# tcp_from NS SOURCE ADDR PORT: what ADDR:PORT says to a client in NS bound to SOURCE.
tcp_from() {
  in_ns "$1" timeout 5 socat -T2 -u "TCP:$3:$4,bind=$2,connect-timeout=2" STDOUT 2>/dev/null
}

denied_visits() { wc -l <"$DENIED_LOG"; }

S1() { slot_ns slot1; }
S2() { slot_ns slot2; }
S3() { slot_ns slot3; }

@test "control: the internet slot reaches every server directly, the denied one included" {
  local before
  before=$(denied_visits)
  [ "$(fetch "$(S1)" https://denied.example/ --resolve "denied.example:443:$DENIED")" = denied-https ]
  [ "$(fetch "$(S1)" https://allowed.example/ --resolve "allowed.example:443:$ALLOWED")" = allowed-https ]
  [ "$(tcp_read "$(S1)" "$ALLOWED" 8443)" = allowed-8443 ]
  [ "$(resolve "$(S1)" "$DNS" denied.example)" = "$DENIED" ]
  [ "$(denied_visits)" -gt "$before" ]
}

@test "allowlist: HTTPS by SNI to the allowed name and to subdomains of a wildcard" {
  [ "$(fetch "$(S2)" https://allowed.example/ --resolve "allowed.example:443:$ALLOWED")" = allowed-https ]
  [ "$(fetch "$(S2)" https://a.wild.example/ --resolve "a.wild.example:443:$WILD")" = wild-https ]
  [ "$(fetch "$(S2)" https://b.c.wild.example/ --resolve "b.c.wild.example:443:$WILD")" = wild-https ]
  # Case does not matter in a name.
  [ "$(fetch "$(S2)" https://Allowed.Example/ --resolve "Allowed.Example:443:$ALLOWED")" = allowed-https ]
}

@test "allowlist: HTTP by Host to the allowed names" {
  [ "$(fetch "$(S2)" http://allowed.example/ --resolve "allowed.example:80:$ALLOWED")" = allowed-http ]
  [ "$(fetch "$(S2)" http://x.wild.example/ --resolve "x.wild.example:80:$WILD")" = wild-http ]
}

@test "allowlist: a denied name, the wildcard's own name, a raw IP get nothing, and the denied server sees nobody" {
  local before
  before=$(denied_visits)
  expect_blocked "https denied.example" fetch "$(S2)" https://denied.example/ --resolve "denied.example:443:$DENIED"
  expect_blocked "https wild.example (the wildcard's apex)" fetch "$(S2)" https://wild.example/ --resolve "wild.example:443:$WILD"
  expect_blocked "https to a raw IP, no SNI" fetch "$(S2)" "https://$DENIED/"
  expect_blocked "http denied.example" fetch "$(S2)" http://denied.example/ --resolve "denied.example:80:$DENIED"
  expect_blocked "http to a raw IP" fetch "$(S2)" "http://$DENIED/"
  expect_blocked "https allowed.example.denied.example" fetch "$(S2)" https://allowed.example.denied.example/ --resolve "allowed.example.denied.example:443:$DENIED"
  no_leaks
  [ "$(denied_visits)" -eq "$before" ]
}

@test "allowlist: an allowed SNI or Host sent to a denied address reaches the allowed server only" {
  local before
  before=$(denied_visits)
  # The proxy resolves the name itself; the address the slot connected to is not used.
  [ "$(fetch "$(S2)" https://allowed.example/ --resolve "allowed.example:443:$DENIED")" = allowed-https ]
  [ "$(fetch "$(S2)" "http://$DENIED/" -H 'Host: allowed.example')" = allowed-http ]
  [ "$(denied_visits)" -eq "$before" ]
}

@test "allowlist: every decision is logged with the slot, its address, the name asked for and allowed or refused" {
  fetch "$(S2)" https://allowed.example/ --resolve "allowed.example:443:$ALLOWED" >/dev/null
  fetch "$(S2)" https://refused-tls.example/ --resolve "refused-tls.example:443:$DENIED" || true
  fetch "$(S2)" http://refused-http.example/ --resolve "refused-http.example:80:$DENIED" || true
  fetch "$(S2)" http://logged.wild.example/ --resolve "logged.wild.example:80:$WILD" >/dev/null
  local want=(
    "egress_slot2: egress slot=slot2 client=${ADDRESSES[1]} proto=https host=allowed.example decision=allowed status=200"
    "egress_slot2: egress slot=slot2 client=${ADDRESSES[1]} proto=https host=refused-tls.example decision=refused status=502"
    "egress_slot2: egress slot=slot2 client=${ADDRESSES[1]} proto=http host=refused-http.example decision=refused status=403"
    "egress_slot2: egress slot=slot2 client=${ADDRESSES[1]} proto=http host=logged.wild.example decision=allowed status=200"
  )
  local line
  for line in "${want[@]}"; do
    for _ in {1..50}; do grep -qF "$line" "$BATS_FILE_TMPDIR/egress.log" && break; sleep 0.1; done
    grep -qF "$line" "$BATS_FILE_TMPDIR/egress.log" || { echo "not logged: $line" >&2; cat "$BATS_FILE_TMPDIR/egress.log" >&2; return 1; }
  done
}

@test "allowlist: other ports, UDP and ping go nowhere" {
  expect_blocked "tcp/8443 to the allowed address" tcp_read "$(S2)" "$ALLOWED" 8443 1
  expect_blocked "tcp/22 to the internet" tcp_read "$(S2)" "$INTERNET" 22 1
  expect_blocked "ping the allowed address" pings "$(S2)" "$ALLOWED" 1
  no_leaks
  : >"$UDP_LOG"
  udp_send "$(S2)" "${ADDRESSES[1]}" "$INTERNET" 9 "from-allowlist-slot"
  # The internet slot's datagram arriving shows the listener works.
  udp_send "$(S1)" "${ADDRESSES[0]}" "$INTERNET" 9 "from-internet-slot"
  for _ in {1..50}; do grep -q from-internet-slot "$UDP_LOG" && break; sleep 0.1; done
  grep -q from-internet-slot "$UDP_LOG"
  run ! grep -q from-allowlist-slot "$UDP_LOG"
}

@test "allowlist: DNS only from the slot's own resolver, and only for the allowed names" {
  local gw=${GATEWAYS[1]}
  [ "$(resolve "$(S2)" "$gw" allowed.example)" = "$ALLOWED" ]
  [ "$(resolve "$(S2)" "$gw" x.wild.example)" = "$WILD" ]
  [ -z "$(resolve "$(S2)" "$gw" denied.example)" ]
  # "*.wild.example" allows the subdomains only, as the proxy does: not the name itself.
  [ -z "$(resolve "$(S2)" "$gw" wild.example)" ]
  [ -z "$(resolve "$(S2)" "$DNS" allowed.example)" ]
  [ -z "$(resolve "$(S2)" "${GATEWAYS[0]}" allowed.example)" ]
}

@test "allowlist: an allowed name that resolves to metadata, another slot or the host gets nowhere" {
  expect_blocked "https meta.wild.example -> 169.254.169.254" fetch "$(S2)" https://meta.wild.example/ --resolve "meta.wild.example:443:$WILD"
  expect_blocked "http meta.wild.example -> 169.254.169.254" fetch "$(S2)" http://meta.wild.example/ --resolve "meta.wild.example:80:$WILD"
  expect_blocked "http slot3.wild.example -> slot3" fetch "$(S2)" http://slot3.wild.example/ --resolve "slot3.wild.example:80:$WILD"
  no_leaks
}

@test "the slots' resolvers and proxies serve their own slot only" {
  local ports
  ports=$(generate egress "$FIXTURES/workloads.json") || return
  expect_blocked "slot1 -> slot2's resolver" resolve "$(S1)" "${GATEWAYS[1]}" allowed.example
  expect_blocked "slot1 -> slot2's proxy" tcp_read "$(S1)" "${GATEWAYS[0]}" "$(jq .ports.slot2.tls <<<"$ports")" 1
  expect_blocked "slot3 -> slot2's proxy via slot2's gateway" tcp_read "$(S3)" "${GATEWAYS[1]}" "$(jq .ports.slot2.tls <<<"$ports")" 1
  expect_blocked "internet -> the proxy on the uplink" tcp_read "$NS_INET" "$UPLINK_HOST" "$(jq .ports.slot2.tls <<<"$ports")" 1
  expect_blocked "internet -> slot2's resolver" resolve "$NS_INET" "${GATEWAYS[1]}" allowed.example
  expect_blocked "tailnet -> slot2's resolver" resolve "$NS_TS" "${GATEWAYS[1]}" allowed.example
  no_leaks
}

@test "egress none: no internet, no DNS anywhere, still reached from the tailnet" {
  expect_blocked "https" fetch "$(S3)" https://allowed.example/ --resolve "allowed.example:443:$ALLOWED"
  expect_blocked "http" fetch "$(S3)" http://allowed.example/ --resolve "allowed.example:80:$ALLOWED"
  expect_blocked "dns via its gateway" resolve "$(S3)" "${GATEWAYS[2]}" allowed.example
  expect_blocked "dns via the internet" resolve "$(S3)" "$DNS" allowed.example
  no_leaks
  [ "$(tcp_read "$NS_TS" "${ADDRESSES[2]}" 22)" = slot3 ]
}

@test "published to the internet: reachable on the host port from the listed sources only" {
  serve "$(S1)" TCP-LISTEN:80,fork,reuseaddr "SYSTEM:echo slot1-80"
  wait_listening "$(S1)" 80
  [ "$(tcp_from "$NS_INET" "$GOOD_SOURCE" "$UPLINK_HOST" 8080)" = slot1-80 ]
  [ "$(tcp_from "$NS_INET" "$UPLINK_PEER" "$UPLINK_HOST" 2203)" = slot3 ]
  expect_blocked "8080 from a source not listed" tcp_from "$NS_INET" "$BAD_SOURCE" "$UPLINK_HOST" 8080
  expect_blocked "2203 from a source not listed" tcp_from "$NS_INET" "$BAD_SOURCE" "$UPLINK_HOST" 2203
  expect_blocked "slot1's port 80 directly, not through the host port" tcp_from "$NS_INET" "$GOOD_SOURCE" "${ADDRESSES[0]}" 80
  expect_blocked "another host port" tcp_from "$NS_INET" "$GOOD_SOURCE" "$UPLINK_HOST" 8081
  expect_blocked "the published port from another slot, via the uplink" tcp_read "$(slot_ns slot4)" "$UPLINK_HOST" 8080 1
  expect_blocked "the published port from the tailnet, via the host" tcp_read "$NS_TS" "$TS_HOST" 8080 1
  no_leaks
}

@test "published to the tailnet: reachable from the tailnet, not from the internet" {
  serve "$(S1)" TCP-LISTEN:8080,fork,reuseaddr "SYSTEM:echo slot1-8080"
  serve "$(S2)" TCP-LISTEN:8080,fork,reuseaddr "SYSTEM:echo slot2-8080"
  wait_listening "$(S1)" 8080
  wait_listening "$(S2)" 8080
  [ "$(tcp_read "$NS_TS" "${ADDRESSES[0]}" 8080)" = slot1-8080 ]
  [ "$(tcp_read "$NS_TS" "${ADDRESSES[1]}" 8080)" = slot2-8080 ]
  expect_blocked "internet -> slot1:8080" tcp_from "$NS_INET" "$GOOD_SOURCE" "${ADDRESSES[0]}" 8080
  expect_blocked "internet -> slot2:8080" tcp_read "$NS_INET" "${ADDRESSES[1]}" 8080 1
  expect_blocked "slot3 -> slot2:8080" tcp_read "$(S3)" "${ADDRESSES[1]}" 8080 1
  no_leaks
}
