#!/usr/bin/env bats
# The fleet on the zfs backend: the same two hosts and real sshd as fleet.bats, each host with its
# own recording fake zfs (fakes/zfs: real streams, guids, resume tokens), so the zfs command
# sequences of a move and of replication run end to end over SSH. Real ZFS runs only in the
# flake's NixOS VM test.

load helpers
load fleet

setup() {
  setup_vm_state
  fleet_setup zfs
}
teardown() { stop_sshds; }

# HOST's zfs calls that change something, since the last call, times normalised.
changes() {
  grep -v -e '^zfs list ' -e '^zfs get ' "$FLEET/$1/zfs.log" |
    sed -E 's/-[0-9]{8}-[0-9]{6}(-[0-9]+)?/-TIME/g; s/-[0-9]{14}/-TIME/g; s/\.[0-9]{14}/.TIME/g; s/-t 1-fa4e-[0-9a-f]+/-t TOKEN/' || true
  : >"$FLEET/$1/zfs.log"
}
# A state `web` running on main's slot1, with 8 MiB of random data besides its text (a stream
# longer than the first MiB that the kill tests let through).
web_on_main() {
  fleet_state main web slot1 "${1:-data of web}"
  dd if=/dev/urandom of="$(host_img main web)" bs=1M count=8 seek=100 conv=notrunc status=none
  : >"$FAKE_SYSTEMCTL_LOG"
  : >"$FLEET/main/zfs.log"
  : >"$FLEET/big/zfs.log"
}
model_ok() { host_zfs "$1" __check; }

@test "zfs move: a full send while it runs, stop, an incremental send, received with -s into a hidden dataset renamed last" {
  web_on_main "first data"
  pause_at copied big fleet-pull web --from main --slot slot3 --json
  host_running main slot1
  put_text "$(host_img main web)" $((512 * MiB)) "written while the first copy ran"
  resume_run
  cat "$BATS_TEST_TMPDIR/paused.err"
  [ "$PAUSED_STATUS" -eq 0 ]
  [ "$(changes main)" = "zfs snapshot tank/states/web@_fleet-move-1
zfs send tank/states/web@_fleet-move-1
zfs snapshot tank/states/web@_fleet-move-2
zfs send -i @_fleet-move-1 tank/states/web@_fleet-move-2
zfs create -o mountpoint=none tank/moved
zfs rename tank/states/web tank/moved/web.TIME" ]
  [ "$(changes big)" = "zfs receive -s -u tank/states/_fleet-in-web
zfs receive -s -u -F tank/states/_fleet-in-web
zfs rename tank/states/_fleet-in-web tank/states/web
zfs mount tank/states/web
zfs destroy tank/states/web@_fleet-move-2
zfs destroy tank/states/web@_fleet-move-1" ]
  [ "$(get_text "$(host_img big web)" $((512 * MiB)) 32)" = "written while the first copy ran" ]
  [ "$(line_of 'stop microvm@slot1.service')" -lt "$(line_of 'start microvm@slot3.service')" ]
  [ "$(grep '^disk microvm@slot3' "$FAKE_SYSTEMCTL_LOG" | cut -d' ' -f3-)" = "$(checksum "$(host_img big web)")" ]
  [ "$(on big list --json 2>/dev/null | jq -r '[.states[].name] | join(" ")')" = web ]
  [ "$(on main list --json 2>/dev/null | jq -c .states)" = '[]' ]
  [[ $(on main list --all --json 2>/dev/null | jq -r '.hidden[] | .name + " " + .was') == "tank/moved/web."*" web (moved to big; vm-state gc --fleet-moved removes it)" ]]
  model_ok main
  model_ok big
}

@test "zfs: a move killed mid-stream resumes with the receive token; the source checks the token's snapshot and guid" {
  web_on_main
  kill_at copying big fleet-pull web --from main --slot slot3
  local token
  token=$(host_zfs big get -H -o value receive_resume_token tank/states/_fleet-in-web)
  [[ $token == 1-fa4e-* ]]
  host_running main slot1
  # A token for another dataset, or for an earlier snapshot of the same name, is refused.
  on main snapshot web keep 2>/dev/null
  local forged
  forged=1-fa4e-$(printf 'tank/states/web@keep\t%s\t-\t1\n' "$(host_zfs main get -H -p -o value guid tank/states/web@keep)" | od -An -tx1 | tr -d ' \n')
  run fleet_ssh main send-resume web big "$forged"
  [ "$status" -eq 2 ]
  [[ $output == *"the resume token is for 'tank/states/web@keep', not a snapshot of web that this transfer sends"* ]]
  forged=1-fa4e-$(printf 'tank/states/web@_fleet-move-1\t12345\t-\t1\n' | od -An -tx1 | tr -d ' \n')
  run fleet_ssh main send-resume web big "$forged"
  [ "$status" -eq 4 ]
  [[ $output == *"the resume token is for an earlier tank/states/web@_fleet-move-1 (another guid)"* ]]
  changes main >/dev/null
  changes big >/dev/null

  run --separate-stderr on big fleet-pull web --from main --slot slot3 --json
  [ "$status" -eq 0 ]
  [ "$(jq -r .resumed <<<"$output")" = true ]
  [ "$(changes main | head -2)" = "zfs send -nv -t TOKEN
zfs send -t TOKEN" ]
  [ "$(changes big | head -2)" = "zfs receive -s -u tank/states/_fleet-in-web
zfs receive -s -u -F tank/states/_fleet-in-web" ]
  [ "$(get_text "$(host_img big web)" $((512 * MiB)) 11)" = "data of web" ]
  model_ok big
}

@test "zfs: --abort after a killed copy drops the partial receive and the source's marks; the source never stopped" {
  web_on_main
  kill_at copying big fleet-pull web --from main
  changes main >/dev/null
  changes big >/dev/null
  run on big fleet-pull web --from main --abort
  [ "$status" -eq 0 ]
  [ "$(changes big)" = "zfs receive -A tank/states/_fleet-in-web" ]
  [ "$(changes main)" = "zfs destroy tank/states/web@_fleet-move-1" ]
  host_running main slot1
  [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
  run ! host_zfs big list -H -o name tank/states/_fleet-in-web 2>/dev/null
  model_ok main
  model_ok big
}

@test "zfs replicate: a full send, then zfs send -I from the newest replica snapshot, into <pool>/replicas; promote renames" {
  web_on_main "version 1"
  run on main replicate web --to big
  [ "$status" -eq 0 ]
  [ "$(changes main)" = "zfs snapshot tank/states/web@_replica-big-TIME
zfs send tank/states/web@_replica-big-TIME" ]
  [ "$(changes big)" = "zfs create -o mountpoint=none tank/replicas
zfs receive -s -u tank/replicas/web" ]
  [ "$(on big list --json 2>/dev/null | jq -c .states)" = '[]' ]
  local first
  first=$(host_zfs main list -H -o name -t snapshot -d 1 tank/states/web)
  [[ $first == tank/states/web@_replica-big-* ]]

  # A snapshot of the state in between goes along (-I); the source keeps only the newest replica
  # snapshot (the next base); the target keeps per keep (hourly 24, daily 7: one an hour) and the
  # state's own snapshots as far back as its oldest replica snapshot.
  put_text "$(host_img main web)" $((512 * MiB)) "version 2"
  on main snapshot web v1 2>/dev/null
  changes main >/dev/null
  run --separate-stderr on main replicate web --to big --json
  [ "$status" -eq 0 ]
  [ "$(jq -r .incrementalFrom <<<"$output")" = "${first#*@}" ]
  [ "$(changes main)" = "zfs snapshot tank/states/web@_replica-big-TIME
zfs send -I @_replica-big-TIME tank/states/web@_replica-big-TIME
zfs destroy tank/states/web@_replica-big-TIME" ]
  [ "$(changes big)" = "zfs receive -s -u -F tank/replicas/web
zfs destroy tank/replicas/web@_replica-big-TIME
zfs destroy tank/replicas/web@v1" ]
  [ "$(host_zfs main list -H -o name -t snapshot -d 1 tank/states/web | sed -E 's/-[0-9]{8}-[0-9]{6}(-[0-9]+)?/-TIME/')" = "tank/states/web@_replica-big-TIME
tank/states/web@v1" ]

  run on big replica-promote web
  [ "$status" -eq 0 ]
  [ "$(changes big)" = "zfs rename tank/replicas/web tank/states/web
zfs rename tank/states/web@_replica-big-TIME tank/states/web@replica-TIME
zfs mount tank/states/web" ]
  [ "$(get_text "$(host_img big web)" $((512 * MiB)) 9)" = "version 2" ]
  [[ $(on big snapshots web --json 2>/dev/null | jq -r '.snapshots[].name') == replica-* ]]
  model_ok main
  model_ok big
}

@test "zfs replicate: a replication killed mid-stream is resumed first, then continued incrementally" {
  web_on_main
  # The source stops after the stream's first MiB; once big's receive holds part of it, the
  # source is killed (a crash, a lost connection): big's receive ends with a cut stream.
  pause_at replicating main replicate web --to big
  local end=$((SECONDS + 60))
  until [[ -e $FLEET/big/zfs/partial/tank%replicas%web ]] || ((SECONDS > end)); do sleep 0.05; done
  kill -KILL -- "-$PAUSED_PID"
  wait "$PAUSED_PID" || true
  end=$((SECONDS + 60))
  until [[ $(host_zfs big get -H -o value receive_resume_token tank/replicas/web 2>/dev/null) == 1-fa4e-* ]] || ((SECONDS > end)); do sleep 0.05; done
  local token
  token=$(host_zfs big get -H -o value receive_resume_token tank/replicas/web)
  [[ $token == 1-fa4e-* ]]
  changes main >/dev/null
  changes big >/dev/null
  run --separate-stderr on main replicate web --to big --json
  [ "$status" -eq 0 ]
  [ "$(jq -r '.incrementalFrom | startswith("_replica-big-")' <<<"$output")" = true ]
  [ "$(changes main | head -4)" = "zfs send -nv -t TOKEN
zfs send -t TOKEN
zfs snapshot tank/states/web@_replica-big-TIME
zfs send -I @_replica-big-TIME tank/states/web@_replica-big-TIME" ]
  [ "$(changes big | head -2)" = "zfs receive -s -u tank/replicas/web
zfs receive -s -u -F tank/replicas/web" ]
  [ "$(host_zfs big get -H -o value receive_resume_token tank/replicas/web)" = - ]
  model_ok big
}

@test "zfs gc --fleet-moved destroys the moved copy; one that a clone depends on is hidden with the deleted ones" {
  web_on_main
  on main clone web copy 2>/dev/null
  run on big fleet-pull web --from main
  [ "$status" -eq 0 ]
  changes main >/dev/null
  run on main gc --fleet-moved
  [ "$status" -eq 0 ]
  # Hidden with the deleted, its snapshots but the clone's origin destroyed by gc at once.
  [ "$(changes main)" = "zfs create -o mountpoint=none tank/deleted
zfs rename tank/moved/web.TIME tank/deleted/web.TIME
zfs destroy tank/deleted/web.TIME@_fleet-move-1
zfs destroy tank/deleted/web.TIME@_fleet-move-2" ]
  [ "$(get_text "$(host_img main copy)" $((512 * MiB)) 11)" = "data of web" ]
  run on main delete --yes copy
  [ "$status" -eq 0 ]
  [ -z "$(host_zfs main list -H -o name -r tank/deleted tank/moved | grep -v -x -e tank/deleted -e tank/moved)" ]
  model_ok main
}
