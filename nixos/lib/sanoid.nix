# infra -> services.sanoid.datasets: one entry per state that asked for scheduled snapshots.
# Empty unless storage.backend is "zfs" (modules/storage.nix warns when snapshots are asked of "files").
infra:
let
  st = infra.storage;
  entry = s: {
    name = "${st.pool}/states/${s.state}";
    value = {
      autosnap = true;
      autoprune = true;
      recursive = false;
      hourly = s.hourly or 0;
      daily = s.daily or 0;
      weekly = s.weekly or 0;
      monthly = s.monthly or 0;
    };
  };
in
if st.backend == "zfs" then builtins.listToAttrs (map entry (st.autoSnapshots or [ ])) else { }
