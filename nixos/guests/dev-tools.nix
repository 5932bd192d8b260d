# An example guest module: a slot that lists "guests/dev-tools" in its modules gets these tools in
# its guest system, built into its store image (so they survive restarts, host rebuilds and
# migrations, unlike what is installed inside the VM). Any NixOS module works here.
{ pkgs, ... }:
{
  environment.systemPackages = with pkgs; [
    git
    curl
    jq
    ripgrep
    tmux
    htop
  ];
  programs.git.enable = true;
}
