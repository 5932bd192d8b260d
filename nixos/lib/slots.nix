# infra -> { <slot name> = <lib/guest.nix values>; } for every slot of the table, in one place.
infra:
builtins.listToAttrs (map (slot: { name = slot.name; value = import ./guest.nix infra slot; }) (import ./slot-defaults.nix infra))
