# The one sshd policy for the host and every guest: keys only, root by key only.
{
  enable = true;
  settings = {
    PasswordAuthentication = false;
    KbdInteractiveAuthentication = false;
    PermitRootLogin = "prohibit-password";
  };
}
