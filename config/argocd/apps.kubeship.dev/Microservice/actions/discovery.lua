-- Restart is always offered: the operator rolls the Deployment whenever the
-- restartedAt annotation changes, whatever the replica count.
local actions = {}
actions["restart"] = {
  ["iconClass"] = "fa fa-fw fa-redo",
  ["displayName"] = "Restart",
}
return actions
