# Operators: the keys from infra.host.sshPublicKeys for root and the admin user; no passwords.
{ infra, ... }:
let keys = infra.host.sshPublicKeys; in
{
  users.mutableUsers = false;
  users.users.root.openssh.authorizedKeys.keys = keys;
  users.users.${infra.host.adminUser} = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = keys;
  };
  # Key-only logins, so sudo cannot ask for a password nobody has.
  security.sudo.wheelNeedsPassword = false;
  services.openssh = import ../lib/openssh.nix;
}
