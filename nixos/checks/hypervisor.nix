# NixOS VM test of the hypervisor modules (everything but modules/ec2.nix), for a machine with Nix
# and KVM: `nix build .#checks.aarch64-linux.hypervisor-vm-test`. It cannot run in this repo's CI
# (no KVM, no nixpkgs); there tests/bats/nixos/vm-test.bats evaluates its deployment data
# (./vm-test-infra.nix) and every .nix file is parsed.
#
# What it runs for real, on the stack's own modules: the ZFS backend (the pool created by the
# first-boot script on the test VM's empty second disk, a file on the driver's side), an egress
# allowlist slot (nginx as its proxy, its own dnsmasq on its gateway), and a slot's VM started by
# vm-state on a state on that pool, booting its guest (Cloud Hypervisor; needs /dev/kvm inside the
# test VM, so the runner must offer nested virtualisation) until it answers on its address.
{ pkgs, hostModules, infra, inputs }:
let
  # The node is `nodes.host`. The hypervisor module sets networking.hostName from
  # infra.host.hostName, and depending on the nixpkgs version the test driver names the machine
  # after the node's attribute or after its system.name (which follows the host name). Giving the
  # host the node's own name makes `host` the machine's name under either rule.
  testInfra = import ./vm-test-infra.nix infra;
  node = testInfra.host.hostName;
  paths = import ../lib/paths.nix;
  egress = import ../lib/egress.nix testInfra;
  s1 = builtins.elemAt testInfra.slots 0;
  s2 = builtins.elemAt testInfra.slots 1;
  pool = testInfra.storage.pool;
in
pkgs.testers.runNixOSTest {
  name = "microvm-infra-hypervisor";
  node.specialArgs = { infra = testInfra; inherit inputs; };
  nodes.${node} = {
    imports = hostModules;
    virtualisation.memorySize = 3072;
    virtualisation.cores = 2;
    # /dev/vdb: the state volume the pool is created on.
    virtualisation.emptyDiskImages = [ 4096 ];
  };
  testScript = ''
    host.wait_for_unit("multi-user.target")
    host.wait_for_unit("systemd-networkd.service")

    with subtest("the host name comes from the deployment data"):
        host.succeed("test \"$(hostname)\" = ${node}")

    with subtest("one bridge per slot, holding its gateway"):
        host.wait_until_succeeds("ip -4 addr show dev ${s1.bridge} | grep -q 'inet ${s1.gateway}/'")
        host.wait_until_succeeds("ip -4 addr show dev ${s2.bridge} | grep -q 'inet ${s2.gateway}/'")

    with subtest("forwarding on, the slots' table loaded"):
        host.succeed("test $(sysctl -n net.ipv4.ip_forward) = 1")
        host.succeed("nft list table inet microvm | grep -q '${s1.bridge}'")

    with subtest("zfs: the pool is created on the blank volume and holds the states"):
        host.wait_for_unit("microvm-state-pool.service")
        host.succeed("zpool list -H -o name ${pool}")
        host.succeed("test \"$(findmnt -n -o FSTYPE ${paths.statesDir})\" = zfs")

    with subtest("a slot without a state link is skipped, not failed"):
        host.succeed("test ! -e ${paths.slotImage s1.name}")
        host.succeed("systemctl start microvm@${s1.name}.service")
        host.fail("systemctl is-failed microvm@${s1.name}.service")
        host.fail("systemctl is-active microvm@${s1.name}.service")

    with subtest("the allowlist slot's proxy and resolver run, on its own listeners"):
        host.wait_for_unit("nginx.service")
        host.wait_for_unit("microvm-dns-${s2.name}.service")
        host.wait_until_succeeds("ss -Hltn 'sport = :${toString egress.ports.${s2.name}.tls}' | grep -q LISTEN")
        host.wait_until_succeeds("ss -Hlun 'sport = :53' | grep -qF '${s2.gateway}:53'")

    with subtest("a VM started: a state on the pool, assigned to a slot, boots and answers on its address"):
        host.succeed("test -e /dev/kvm || { echo 'no /dev/kvm in the test VM: the runner must offer nested virtualisation' >&2; exit 1; }")
        host.succeed("vm-state create ${s1.name} --size-gib ${toString s1.diskGiB}")
        host.succeed("zfs list -H -o name ${pool}/states/${s1.name}")
        host.succeed("vm-state assign ${s1.name} ${s1.name}")
        host.succeed("systemctl start microvm@${s1.name}.service")
        host.wait_for_unit("microvm@${s1.name}.service")
        # No vsock CID on aarch64 (lib/readiness.nix): the unit is simple, readiness is the VM answering.
        host.succeed("test \"$(systemctl show -P Type microvm@${s1.name}.service)\" = ${(import ../lib/readiness.nix pkgs.stdenv.hostPlatform.system).unitType}")
        host.wait_until_succeeds("ping -c 1 -W 2 ${s1.address}", timeout=600)

    with subtest("operators' tools and data are installed"):
        host.succeed("command -v vm-state")
        host.succeed("${pkgs.jq}/bin/jq -e '.slots | length == 2' /etc/microvm-infra/infra.json")
  '' + (if testInfra ? observability then (let curl = "${pkgs.curl}/bin/curl -sf"; in ''

    with subtest("observability (modules/observability.nix): exporters, Prometheus, Alertmanager, Grafana, the table"):
        for unit in ["prometheus-node-exporter", "prometheus", "alertmanager", "grafana"]:
            host.wait_for_unit(f"{unit}.service")
        host.wait_until_succeeds("${curl} http://127.0.0.1:9100/metrics | grep -q '^microvm_slot_up{slot=\"${s1.name}\"} 0'")
        host.wait_until_succeeds("${curl} http://127.0.0.1:9100/metrics | grep -q '^microvm_deploy_generation '")
        host.wait_until_succeeds("${curl} 'http://127.0.0.1:9090/api/v1/query?query=microvm_slot_up' | grep -q '\"host\":\"${testInfra.observability.host}\"'")
        host.wait_until_succeeds("${curl} http://127.0.0.1:9093/-/ready")
        host.wait_until_succeeds("${curl} http://127.0.0.1:3000/api/health")
        host.succeed("${curl} 'http://127.0.0.1:3000/api/search?query=microvm-infra' | grep -q microvm-fleet")
        host.succeed("nft list table inet microvm_observability | grep -q 'observability: the tailnet only'")
        host.succeed("grep -q '^MaxRetentionSec=' /etc/systemd/journald.conf")
  '') else "");
}
