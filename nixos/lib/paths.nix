# Fixed layout on the host (docs/deployment-data.md): not configurable, so not in infra.json.
rec {
  stateDir = "/var/lib/microvms";
  statesDir = "${stateDir}/states";
  # The slot's disk: a symlink that vm-state points at its assigned state's image.
  slotImage = slotName: "${stateDir}/${slotName}/data.img";
  infraJson = "/etc/microvm-infra/infra.json";
}
