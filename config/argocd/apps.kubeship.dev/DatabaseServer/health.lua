-- Argo CD health check for apps.kubeship.dev/DatabaseServer.
--
-- Argo CD runs scripts from argocd-cm without Lua's string and math libraries,
-- so this script uses only the base language.

-- Reasons that need a person: fix the admin Secret, the credentials or the
-- network path to the server.
local failed = {
  SecretNotFound = true,
  InvalidSecret = true,
  SecretNotAllowed = true,
  AuthenticationFailed = true,
  Unreachable = true,
}

local generation = obj.metadata.generation or 0
local status = obj.status
local ready = nil
if status ~= nil and status.conditions ~= nil then
  for _, c in ipairs(status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end

if ready == nil then
  return {status = "Progressing", message = "Waiting for the operator to check the server"}
end

-- A condition from an older generation describes the old host, port or Secret.
if status.observedGeneration ~= generation or ready.observedGeneration ~= generation then
  return {status = "Progressing", message = "Waiting for the operator to observe generation " .. generation}
end

local message = ready.message
if message == nil or message == "" then
  message = ready.reason
end

if ready.status == "True" then
  return {status = "Healthy", message = message}
end
if failed[ready.reason] then
  return {status = "Degraded", message = message}
end
return {status = "Progressing", message = message}
