-- A Microservice has no pod template of its own, so the restart request is an
-- annotation on the Microservice; the operator copies it onto the Deployment's
-- pod template, which rolls the pods. Annotations do not bump
-- metadata.generation, so Git and the spec stay untouched.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["apps.kubeship.dev/restartedAt"] = os.date("!%Y-%m-%dT%XZ")
return obj
