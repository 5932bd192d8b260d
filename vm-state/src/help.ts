/** `vm-state help`: every command, the exit codes, the environment. Needs neither root nor infra.json. */
import { nameRuleText } from "./names";

export function helpText(lock: string): string {
    return `Usage: vm-state COMMAND [ARGS]

Manages microVM states (disk images) and which slot runs which state.

Read-only (no root needed):
  status [--json]                     slots (state, running) and states
  list [--json] [--all]               states with size, slot and snapshots;
                                      --all also hidden data kept for clones (zfs)
  snapshots STATE [--json]            snapshots of one state
  metrics [--output FILE]             Prometheus metrics (node exporter textfile format);
                                      --output replaces FILE atomically
  help                                this text

Changes (hold the lock ${lock}):
  create NAME [--size-gib N] [--if-missing]
                                      new empty state (ext4, label from infra.json), default 64 GiB
  clone SRC DST [--independent] [--if-missing]
                                      new state from SRC (zfs: an instant clone;
                                      --independent: a full copy sharing no blocks)
  restore STATE@SNAP DST [--independent] [--if-missing]
                                      new state from a snapshot
  snapshot STATE SNAP [--stop] [--if-missing] [--json]
                                      snapshot; says its consistency: a running slot is
                                      paused (files, xfs) or snapshotted atomically (zfs):
                                      crash-consistent; --stop stops and restarts the slot:
                                      application-consistent
  delete NAME --yes [--if-exists]     delete a state and its snapshots (refused while a slot
                                      uses it; zfs: hidden while clones depend on it)
  delete-snapshot STATE@SNAP --yes [--if-exists]
  assign SLOT STATE                   run STATE on SLOT (stop, safety snapshot, relink, start)
  migrate STATE SLOT                  same as assign SLOT STATE (the next deploy's apply
                                      switches the slot back to the stack config's state)
  apply FILE|-                        make slots match {"slots": {"SLOT": "STATE", ...}};
                                      only differing slots change, swaps allowed
  adopt SLOT STATE                    turn the disk image file SLOT/data.img (not a link to a
                                      state) into the new state STATE, and run it on SLOT
  gc [--fleet-moved [STATE...]]       destroy hidden data nothing depends on (zfs; also run
                                      after every delete); --fleet-moved: also the copies
                                      kept on this host of states moved to another host
                                      (of the STATEs only, if given)

Slots:
  logs SLOT [-f] [--lines N|all]      the slot's journal (microvm@SLOT), which holds its
                                      serial console too; -f follows it (default: 100 lines)

Fleet (several hosts; infra.json .fleet; see docs/vm-state.md "Fleet"):
  fleet-pull STATE --from HOST [--slot SLOT] [--json]
                                      on the target: move STATE here from HOST: a copy while
                                      it runs there, then HOST stops it, the catch-up, the
                                      state created here last, SLOT started on it; HOST keeps
                                      its copy hidden (gc --fleet-moved); resumes when re-run
  fleet-pull STATE --from-any [--slot SLOT] [--json]
                                      the same from whichever other host holds STATE (the
                                      deploy runs this); nothing when it is here or nowhere
  fleet-pull STATE --from HOST --abort
                                      roll an unfinished move back: nothing stays here, the
                                      state runs on HOST again
  fleet-cancel STATE                  on the source: undo an unfinished move out of this host
  replicate STATE --to HOST [--keep-hourly N] [--keep-daily N] [--keep-weekly N]
            [--keep-monthly N] [--json]
                                      on the source: a warm copy on HOST (zfs: incremental),
                                      kept hidden there, pruned per keep (default: .fleet.replicas)
  replica-promote STATE [--as NAME]   on the replica's host: the replica becomes a state
  fleet-serve                         the forced command of the fleet's SSH key (not by hand)

Names: ${nameRuleText};
states and snapshots at most 63 characters, slots at most 12 and not 'states'. Options
may come before or after the arguments; '--' ends the options.

Exit codes:
  0  success (also: nothing to do)
  1  error (a command failed, a slot did not come up, a full or read-only disk)
  2  usage (unknown command or option, bad name, bad input, missing --yes,
     a bad VM_STATE_* value)
  3  busy (another vm-state command holds the lock)
  4  not found or conflict (unknown slot/state/snapshot, already exists,
     state attached to another slot, delete of an attached state, something on
     disk vm-state will not touch: a slot's own disk image, a symbolic link;
     fleet: no .fleet, unknown host, a state moving to another host, a
     replica from another host, no common snapshot)
  Fleet commands also exit 3 while the same transfer runs (a second move of a
  state, a second replication), pass on the other host's 3 and 4, and exit 1
  when it cannot be reached. fleet-serve refuses what it does not allow with 2.

Environment:
  VM_STATE_CONFIG         infra.json (default /etc/microvm-infra/infra.json)
  VM_STATE_ROOT           holds states/ and one directory per slot (default /var/lib/microvms)
  VM_STATE_BACKEND        zfs, xfs or files (default: .storage.backend of infra.json)
  VM_STATE_SYSTEMCTL      command run as systemctl (default systemctl)
  VM_STATE_ZFS            command run as zfs (default zfs)
  VM_STATE_CH_REMOTE      command run as ch-remote (default ch-remote)
  VM_STATE_LOCK           lock file (default $VM_STATE_ROOT/.vm-state.lock)
  VM_STATE_LOCK_WAIT      seconds to wait for the lock before exit 3 (default 30)
  VM_STATE_START_TIMEOUT  seconds a started slot has to become active (default 60)
  VM_STATE_JOURNALCTL     command run as journalctl (default journalctl)
  VM_STATE_FLEET_KNOWN_HOSTS  the other hosts' SSH host keys (default /etc/microvm-infra/fleet/known_hosts)
  VM_STATE_FLEET_SSH_CONFIG   ssh_config for fleet connections (default /etc/microvm-infra/fleet/ssh_config)
`;
}
