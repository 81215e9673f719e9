-- Argo CD health check for apps.kubeship.dev/Microservice.
--
-- Argo CD runs scripts from argocd-cm without Lua's string and math libraries,
-- so this script uses only the base language.

-- Reasons that waiting will not fix: a person has to change the spec, the
-- image, the DatabaseServer or its allowedNamespaces, or hand over (or remove)
-- an object kubeship does not own. They appear on Ready and (NamespaceNotAllowed,
-- ProvisioningFailed, ResourceNotOwned) on DatabaseReady. MigrationFailed: the
-- migration Job failed and the rollout is stopped until the spec changes.
local failed = {
  ProgressDeadlineExceeded = true,
  MigrationFailed = true,
  InvalidSpec = true,
  DatabaseFailed = true,
  NamespaceNotAllowed = true,
  ProvisioningFailed = true,
  ResourceNotOwned = true,
  AdoptionRefused = true,
}

local function find(conditions, conditionType)
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

-- The operator's messages name the object and the cause; the reason is a
-- fallback so the UI never shows an empty message for a non-healthy object.
local function messageOf(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return c.reason
end

local generation = obj.metadata.generation or 0
local status = obj.status
if status == nil or status.conditions == nil or #status.conditions == 0 then
  return {status = "Progressing", message = "Waiting for the operator to report status"}
end

-- Conditions written for an older generation describe the old spec: a fix
-- pushed to Git must not stay Degraded, nor an old success read as Healthy.
local ready = find(status.conditions, "Ready")
if status.observedGeneration ~= generation or ready == nil or ready.observedGeneration ~= generation then
  return {status = "Progressing", message = "Waiting for the operator to observe generation " .. generation}
end

if ready.status == "False" and failed[ready.reason] then
  return {status = "Degraded", message = messageOf(ready)}
end

-- Ready may carry the generic DatabaseNotReady while DatabaseReady says why.
local database = find(status.conditions, "DatabaseReady")
if database ~= nil and database.status == "False" and database.observedGeneration == generation and failed[database.reason] then
  return {status = "Degraded", message = messageOf(database)}
end

if ready.status == "True" then
  return {status = "Healthy", message = messageOf(ready)}
end

-- RolloutInProgress, ObservedGenerationStale, Migrating, DatabaseNotReady,
-- ReconcileError (the operator retries) or a reason this script does not know:
-- all of them settle without a person.
return {status = "Progressing", message = messageOf(ready)}
