# The hosts' platform, in one place: AWS Graviton metal, so every host and every guest is
# aarch64-linux. flake.nix builds for it; ./readiness.nix decides from it how a slot's unit learns
# that its VM is up.
{
  system = "aarch64-linux";
}
