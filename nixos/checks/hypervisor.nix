# NixOS VM test of the hypervisor modules (everything but modules/ec2.nix), for a machine with Nix
# and KVM: `nix build .#checks.aarch64-linux.hypervisor-vm-test`. It cannot run in this repo's CI.
# The test host uses the "files" backend, no tailnet and no fleet, with the first two slots of the table.
{ pkgs, hostModules, infra, inputs }:
let
  # The node is `nodes.host`. The hypervisor module sets networking.hostName from
  # infra.host.hostName, and depending on the nixpkgs version the test driver names the machine
  # after the node's attribute or after its system.name (which follows the host name). Giving the
  # host the node's own name makes `host` the machine's name under either rule.
  node = "host";
  # One host on its own: no `fleet` (no peers to serve or replicate to, and its backend is no
  # longer the one fleet.hosts names for it).
  testInfra = removeAttrs infra [ "fleet" ] // {
    host = infra.host // { hostName = node; };
    storage = { backend = "files"; pool = null; device = null; autoSnapshots = [ ]; };
    tailscale = infra.tailscale // { enabled = false; };
    slots = pkgs.lib.take 2 infra.slots;
  };
  s1 = builtins.elemAt testInfra.slots 0;
  s2 = builtins.elemAt testInfra.slots 1;
in
pkgs.testers.runNixOSTest {
  name = "microvm-infra-hypervisor";
  node.specialArgs = { infra = testInfra; inherit inputs; };
  nodes.${node} = { imports = hostModules; virtualisation.memorySize = 2048; };
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

    with subtest("a slot without a state link is skipped, not failed"):
        host.succeed("test ! -e /var/lib/microvms/${s1.name}/data.img")
        host.succeed("systemctl start microvm@${s1.name}.service")
        host.fail("systemctl is-failed microvm@${s1.name}.service")
        host.fail("systemctl is-active microvm@${s1.name}.service")

    with subtest("operators' tools and data are installed"):
        host.succeed("command -v vm-state")
        host.succeed("${pkgs.jq}/bin/jq -e '.slots | length == 2' /etc/microvm-infra/infra.json")
  '' + pkgs.lib.optionalString (testInfra ? observability) (let curl = "${pkgs.curl}/bin/curl -sf"; in ''

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
  '');
}
