#!/usr/bin/env bats
# acceptance/run.sh, the driver of `npm run acceptance`, in a copy of the repository, with
# recording fakes for what needs an AWS account (pulumi, aws, the address lookup): it spends
# nothing without --yes; whatever fails, it destroys, the state volume of its own stack included
# (and only that one), prints the cost, and keeps its record when the destroy did not finish.
load ../lib/require
bats_require_minimum_version 1.5.0

setup_file() {
  require_tools git node ssh-keygen ssh-agent ssh-add jq tar
  REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
  export REPO
}

setup() {
  COPY=$BATS_TEST_TMPDIR/repo
  mkdir -p "$COPY"
  git -C "$REPO" ls-files -z | (cd "$REPO" && xargs -0 tar -cf - --) | tar -xf - -C "$COPY"
  ln -s "$REPO/node_modules" "$COPY/node_modules"
  BIN=$BATS_TEST_TMPDIR/bin
  mkdir -p "$BIN"
  export CALLS=$BATS_TEST_TMPDIR/calls
  : >"$CALLS"
  # pulumi: records each call; FAIL_ON="up" (or "destroy") makes that command fail.
  cat >"$BIN/pulumi" <<'FAKE'
#!/usr/bin/env bash
echo "pulumi $*" >>"$CALLS"
[[ " $* " == *" ${FAIL_ON:-none} "* ]] && { echo "fake pulumi: $1 failed" >&2; exit 1; }
exit 0
FAKE
  # aws: one state volume tagged with the stack it is asked about, deleted on request.
  cat >"$BIN/aws" <<'FAKE'
#!/usr/bin/env bash
echo "aws $*" >>"$CALLS"
if [[ $* == *describe-volumes* ]]; then
  for a in "$@"; do [[ $a == Name=tag:Stack,Values=acceptance-* ]] && echo vol-0run0000000000; done
fi
exit 0
FAKE
  printf '#!/bin/sh\necho 203.0.113.5\n' >"$BIN/curl"
  chmod +x "$BIN/pulumi" "$BIN/aws" "$BIN/curl"
  export PATH=$BIN:$PATH
}

@test "without --yes: the estimate, and nothing is created" {
  cd "$COPY"
  run bash acceptance/run.sh run
  [ "$status" -eq 2 ]
  [[ $output == *"a a1.metal host, 64+8 GiB of gp3 and a public IPv4 address. An hour of it costs:"* ]]
  [[ $output == *"0.4080 USD  a1.metal: 1.00 h x 0.408 USD/h"* ]]
  [[ $output == *"Run again with --yes to start."* ]]
  [ ! -s "$CALLS" ]
  [ ! -e .acceptance/run.env ]
}

@test "a failed pulumi up still destroys everything, its own state volume included, and prints the cost" {
  cd "$COPY"
  FAIL_ON=up run bash acceptance/run.sh run --yes --region eu-west-1
  [ "$status" -ne 0 ]
  stack=$(sed -n 's/^pulumi stack init //p' "$CALLS")
  [[ $stack =~ ^acceptance-[0-9]{8}-[0-9]{6}-[0-9]+$ ]]
  grep -qx "pulumi config set --stack $stack aws:region eu-west-1" "$CALLS"
  grep -qx "pulumi config set --stack $stack --path microvm-infra:host.instanceType a1.metal" "$CALLS"
  grep -qx "pulumi config set --stack $stack --path microvm-infra:host.adminCidrs\[0\] 203.0.113.5/32" "$CALLS"
  # After the failed up: unprotect, destroy, the volume tagged with this stack, then the stack itself.
  [ "$(sed -n '/^pulumi up /,$p' "$CALLS" | cut -d' ' -f1-4)" = "$(printf '%s\n' \
    "pulumi up --yes --stack" "pulumi stack select $stack" "pulumi state unprotect --all" "pulumi destroy --yes --skip-preview" \
    "aws ec2 describe-volumes --region" "aws ec2 wait volume-available" "aws ec2 delete-volume --region" "pulumi stack rm --yes")" ]
  grep -q "describe-volumes --region eu-west-1 --filters Name=tag:Stack,Values=$stack Name=tag:Project,Values=microvm-infra " "$CALLS"
  grep -q "delete-volume --region eu-west-1 --volume-id vol-0run0000000000" "$CALLS"
  [[ $output == *"what the run cost ("* ]]
  [[ $output == *"USD  a1.metal:"* ]]
  [[ $output == *"everything is destroyed"* ]]
  [ ! -e .acceptance/run.env ]
  [ ! -e "Pulumi.$stack.yaml" ]
}

@test "a destroy that does not finish keeps the record and says to run it again; the stack is not removed" {
  cd "$COPY"
  FAIL_ON=up run bash acceptance/run.sh deploy --yes
  [ "$status" -ne 0 ]
  [ -f .acceptance/run.env ] # deploy alone (CI) leaves the destroy to its own step
  : >"$CALLS"
  FAIL_ON=destroy run bash acceptance/run.sh destroy
  [ "$status" -eq 1 ]
  [[ $output == *"the destroy did not finish: run 'acceptance/run.sh destroy' again"* ]]
  run ! grep -q "stack rm" "$CALLS"
  [ -f .acceptance/run.env ]
  FAIL_ON=none run bash acceptance/run.sh destroy
  [ "$status" -eq 0 ]
  [ ! -e .acceptance/run.env ]
}

@test "a second run while one is recorded is refused; destroy with nothing recorded does nothing" {
  cd "$COPY"
  mkdir -p .acceptance
  printf 'STACK=acceptance-x\n' >.acceptance/run.env
  run bash acceptance/run.sh deploy --yes
  [ "$status" -eq 1 ]
  [[ $output == *"a run is recorded in .acceptance/run.env: destroy it first"* ]]
  rm .acceptance/run.env
  run bash acceptance/run.sh destroy
  [ "$status" -eq 0 ]
  [[ $output == *"nothing to destroy"* ]]
  run bash acceptance/run.sh sideways
  [ "$status" -eq 2 ]
}
