{
  description = "microvm-infra: the hypervisor host and its microVM slots, generated from infra.json";

  # Both inputs name their revision, so `nix flake lock` can only complete the lock, never move it.
  # To update: change the revision here, then run `nix flake lock` (docs/nixos.md).
  inputs = {
    # nixos-26.05
    nixpkgs.url = "github:NixOS/nixpkgs/b18a4b905f8d028dc4476412e6d6891728695379";
    microvm = {
      url = "github:microvm-nix/microvm.nix/71beea0076cd46dafcee97a5a2e7d00cbba5bd2f";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  # Guest modules from other flakes (a slot's `modules: ["<input>#<attr>"]`, docs/nixos.md): add the
  # flake here with its revision in the URL (and `inputs.nixpkgs.follows = "nixpkgs"`), then run
  # `nix flake lock`. Every input reaches the guests as `inputs`.
  outputs = inputs@{ self, nixpkgs, microvm, ... }:
    let
      inherit (import ./lib/platform.nix) system;
      # The deployment data rendered by the Pulumi program; checked before anything uses it.
      infra = import ./lib/validate.nix (builtins.fromJSON (builtins.readFile ./infra.json));
      # Everything but the EC2 specifics, so the VM test runs the same modules.
      hostModules = [ microvm.nixosModules.host ./modules/hypervisor.nix ./modules/egress.nix ./modules/observability.nix ];
    in
    {
      nixosConfigurations.hypervisor = nixpkgs.lib.nixosSystem {
        specialArgs = { inherit infra inputs; };
        modules = hostModules ++ [ ./modules/ec2.nix ];
      };

      checks.${system} = {
        hypervisor-toplevel = self.nixosConfigurations.hypervisor.config.system.build.toplevel;
        hypervisor-vm-test = import ./checks/hypervisor.nix {
          pkgs = nixpkgs.legacyPackages.${system};
          inherit hostModules infra inputs;
        };
      };
    };
}
