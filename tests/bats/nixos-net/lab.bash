# A network lab in namespaces: the hypervisor's slot networking built from what the Nix generators
# produce, with the real kernel and the real `nft`. Used by isolation.bats, which builds one lab
# per fixture (`lab_up FIXTURE`), runs each check in every lab (`in_each_lab`) and deletes them
# (`labs_down`).
#
# Namespaces of a lab, all named "$LAB-..." with a random LAB, so labs and runs never collide:
#   host      the hypervisor: one bridge per slot (networkd.nix's units applied with ip(8), standing
#             in for systemd-networkd), an uplink with a random name, tailscale0, the ruleset from
#             nftables.nix, and a listener on port 22 standing for its SSH.
#   inet      "the internet" behind the uplink: a server and the instance metadata address; on a
#             fleet fixture also the other hosts' addresses, each with a listener on port 22.
#   ts        a tailnet client behind tailscale0, routing 10.0.0.0/8 to the host (the subnet routes).
#   s-<slot>  one per slot VM: eth0 (its peer in host is named like the slot's tap), the slot's
#             address, a default route via its gateway, and a listener on port 22 that says its name.
# Every address exists only inside these namespaces; nothing is routed out of them.

UPLINK_HOST=198.51.100.1   # the host's uplink address: what the internet sees behind NAT
UPLINK_PEER=198.51.100.254 # the internet's router
INTERNET=203.0.113.10      # a server on the internet (TCP 80 says who connected, UDP 9 logs)
METADATA=169.254.169.254   # instance metadata, reachable through the uplink as on EC2
TS_HOST=100.100.0.1        # the host's tailscale0
TS_CLIENT=100.100.0.2      # a tailnet client

in_ns() { ip netns exec "$@"; }

# serve NS SOCAT_ADDRESS...: a listener in NS, in the background (fd 3 closed, or bats would wait).
serve() {
  local ns=$1
  shift
  in_ns "$ns" socat "$@" </dev/null >/dev/null 2>&1 3>&- &
}

# tcp_read NS ADDR PORT [CONNECT_TIMEOUT]: what the server at ADDR:PORT says to a client in NS.
tcp_read() {
  in_ns "$1" timeout 5 socat -T2 -u "TCP:$2:$3,connect-timeout=${4:-2}" STDOUT 2>/dev/null
}

# pings NS ADDR [WAIT]: one echo request from NS gets its reply.
pings() {
  in_ns "$1" ping -n -q -c1 -W"${3:-2}" "$2" >/dev/null 2>&1
}

# udp_send NS SOURCE DEST PORT TEXT: one datagram from SOURCE (an address of NS).
udp_send() {
  in_ns "$1" socat -u STDIN "UDP-SENDTO:$3:$4,bind=$2" <<<"$5" 2>/dev/null
}

# wait_listening NS PORT: until something listens on TCP PORT in NS (up to 5 s).
wait_listening() {
  for _ in {1..50}; do
    in_ns "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  echo "nothing listens on port $2 in $1" >&2
  return 1
}

# lab_use LAB FIXTURE: make LAB the current lab (the names below and the slot arrays).
# shellcheck disable=SC2034 # the arrays are read by the checks in isolation.bats
lab_use() {
  LAB=$1 FIXTURE=$2
  NS_HOST="$LAB-host" NS_INET="$LAB-inet" NS_TS="$LAB-ts"
  RULESET="$BATS_FILE_TMPDIR/$LAB.nft" UDP_LOG="$BATS_FILE_TMPDIR/$LAB.udp"
  mapfile -t NAMES < <(jq -r '.slots[].name' "$FIXTURE")
  mapfile -t ADDRESSES < <(jq -r '.slots[].address' "$FIXTURE")
  mapfile -t GATEWAYS < <(jq -r '.slots[].gateway' "$FIXTURE")
  mapfile -t SUBNETS < <(jq -r '.slots[].subnet' "$FIXTURE")
  mapfile -t EGRESS < <(jq -r '.slots[] | .egress.policy // "internet"' "$FIXTURE")
  # The other hosts of a fleet (none on a one-host fixture): reached like the internet, in the lab.
  mapfile -t PEERS < <(jq -r '.fleet as $f | ($f.hosts // [])[] | select(.name != $f.self) | .address' "$FIXTURE")
}

slot_ns() { echo "$LAB-s-$1"; }

# lab_up FIXTURE: build a lab for FIXTURE and load its ruleset; listed in $BATS_FILE_TMPDIR/labs.
lab_up() {
  local fixture=$1 lab name address prefix gateway tap units dev addresses bridge uplink
  lab="mvlab-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\t%s\n' "$lab" "$fixture" >>"$BATS_FILE_TMPDIR/labs" # before anything exists
  lab_use "$lab" "$fixture"
  uplink="up$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')" # no fixed uplink name

  for ns in "$NS_HOST" "$NS_INET" "$NS_TS"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  in_ns "$NS_HOST" sysctl -qw net.ipv4.ip_forward=1
  # No reverse-path filter in the lab, so only the ruleset stops a spoofed source.
  in_ns "$NS_HOST" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0

  # Uplink to the internet, which routes the slots' range back to the host only so that the lab
  # proves the ruleset (not a missing route) keeps the internet out of the slots.
  ip -n "$NS_HOST" link add "$uplink" type veth peer name wan0 netns "$NS_INET"
  ip -n "$NS_HOST" addr add "$UPLINK_HOST/24" dev "$uplink"
  ip -n "$NS_HOST" link set "$uplink" up
  ip -n "$NS_INET" addr add "$UPLINK_PEER/24" dev wan0
  ip -n "$NS_INET" link set wan0 up
  ip -n "$NS_INET" addr add "$INTERNET/32" dev lo
  ip -n "$NS_INET" addr add "$METADATA/32" dev lo
  for address in "${PEERS[@]}"; do
    ip -n "$NS_INET" addr add "$address/32" dev lo
  done
  ip -n "$NS_INET" route add 10.0.0.0/8 via "$UPLINK_HOST"
  ip -n "$NS_HOST" route add default via "$UPLINK_PEER"

  # tailscale0 to a tailnet client that uses the host as its subnet router.
  ip -n "$NS_HOST" link add tailscale0 type veth peer name ts0 netns "$NS_TS"
  ip -n "$NS_HOST" addr add "$TS_HOST/24" dev tailscale0
  ip -n "$NS_HOST" link set tailscale0 up
  ip -n "$NS_TS" addr add "$TS_CLIENT/24" dev ts0
  ip -n "$NS_TS" link set ts0 up
  ip -n "$NS_TS" route add 10.0.0.0/8 via "$TS_HOST"

  # The host's slot links, from networkd.nix: bridges, then a "tap" per slot VM, then the networks.
  units=$(generate networkd "$fixture")
  while read -r dev; do
    ip -n "$NS_HOST" link add "$dev" type bridge
    ip -n "$NS_HOST" link set "$dev" up
  done < <(jq -r '.netdevs[].netdevConfig | select(.Kind == "bridge") | .Name' <<<"$units")
  while IFS=$'\t' read -r name address prefix gateway tap; do
    ip netns add "$LAB-s-$name"
    ip -n "$LAB-s-$name" link set lo up
    ip -n "$NS_HOST" link add "$tap" type veth peer name eth0 netns "$LAB-s-$name"
    ip -n "$LAB-s-$name" addr add "$address/$prefix" dev eth0
    ip -n "$LAB-s-$name" link set eth0 up
    ip -n "$LAB-s-$name" route add default via "$gateway"
  done < <(jq -r '.slots[] | [.name, .address, .prefixLength, .gateway, .tap] | @tsv' "$fixture")
  while IFS='|' read -r dev addresses bridge; do # '|', not tab: read would merge empty fields
    for address in $addresses; do
      ip -n "$NS_HOST" addr add "$address" dev "$dev"
    done
    [[ -z "$bridge" ]] || ip -n "$NS_HOST" link set "$dev" master "$bridge"
    ip -n "$NS_HOST" link set "$dev" up
  done < <(jq -r '.networks[] | [.matchConfig.Name, ((.address // []) | join(" ")),
                                 (.networkConfig.Bridge // "")] | join("|")' <<<"$units")

  # Listeners: slot VMs and the tailnet client say who they are, the host's "SSH" says hello, the
  # internet says which address connected, and logs every datagram it receives.
  for name in "${NAMES[@]}"; do
    serve "$(slot_ns "$name")" TCP-LISTEN:22,fork,reuseaddr "SYSTEM:echo $name"
  done
  serve "$NS_TS" TCP-LISTEN:22,fork,reuseaddr "SYSTEM:echo tailnet-client"
  serve "$NS_HOST" TCP-LISTEN:22,fork,reuseaddr "SYSTEM:echo SSH-2.0-host"
  # shellcheck disable=SC2016 # socat's shell expands it, per connection
  serve "$NS_INET" "TCP-LISTEN:80,bind=$INTERNET,fork,reuseaddr" 'SYSTEM:echo $SOCAT_PEERADDR'
  # shellcheck disable=SC2016
  serve "$NS_INET" "TCP-LISTEN:80,bind=$METADATA,fork,reuseaddr" 'SYSTEM:echo $SOCAT_PEERADDR'
  : >"$UDP_LOG"
  serve "$NS_INET" -u UDP-RECV:9 "OPEN:$UDP_LOG,append"
  for address in "${PEERS[@]}"; do
    serve "$NS_INET" "TCP-LISTEN:22,bind=$address,fork,reuseaddr" "SYSTEM:echo fleet-host"
  done
  for name in "${NAMES[@]}"; do
    wait_listening "$(slot_ns "$name")" 22
  done
  wait_listening "$NS_TS" 22
  wait_listening "$NS_HOST" 22
  wait_listening "$NS_INET" 80

  ruleset "$fixture" >"$RULESET"
  load_ruleset
}

load_ruleset() {
  in_ns "$NS_HOST" nft -f "$RULESET"
}

unload_ruleset() {
  in_ns "$NS_HOST" nft delete table inet microvm
}

# in_each_lab CHECK: run the function CHECK in every lab; fail naming the labs where it failed.
in_each_lab() {
  local lab fixture failed=()
  while IFS=$'\t' read -r lab fixture; do
    lab_use "$lab" "$fixture"
    LEAKS="$BATS_TEST_TMPDIR/$lab.leaks"
    : >"$LEAKS"
    "$1" || failed+=("$(basename "$fixture")")
  done <"$BATS_FILE_TMPDIR/labs"
  ((${#failed[@]} == 0)) || {
    echo "failed with: ${failed[*]}" >&2
    return 1
  }
}

# labs_down: stop the listeners in every lab's namespaces and delete the namespaces.
labs_down() {
  [[ -f "$BATS_FILE_TMPDIR/labs" ]] || return 0
  local lab ns pid
  while IFS=$'\t' read -r lab _; do
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$lab-"); do
      for pid in $(ip netns pids "$ns"); do
        kill "$pid" 2>/dev/null || true
      done
      ip netns delete "$ns"
    done
  done <"$BATS_FILE_TMPDIR/labs"
}

# expect_blocked DESC COMMAND...: runs the probe COMMAND in the background; if it gets through,
# DESC is written to $LEAKS. no_leaks waits for the probes (only them: a test may also have started
# listeners in the background).
PROBES=()
expect_blocked() {
  local desc=$1
  shift
  { if "$@"; then echo "$desc" >>"$LEAKS"; fi; } &
  PROBES+=("$!")
}

# no_leaks: after the probes end, fail listing every probe that got through.
no_leaks() {
  local pid
  for pid in "${PROBES[@]}"; do wait "$pid" || true; done
  PROBES=()
  [[ ! -s "$LEAKS" ]] || {
    echo "got through:" >&2
    cat "$LEAKS" >&2
    return 1
  }
}
