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
  # Only the keys above log in: the key EC2 wrote to /root/.ssh/authorized_keys at first boot
  # (the first key when the instance was created) stops working once it leaves the list.
  services.openssh = import ../lib/openssh.nix // { authorizedKeysInHomedir = false; };
}
