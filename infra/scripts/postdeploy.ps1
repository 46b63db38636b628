# azd postdeploy hook (Windows). See postdeploy.sh: the vault event subscriptions are provisioned once the
# vaultEvents function exists.
$ErrorActionPreference = 'Stop'
if ($env:ROTOR_SUBSCRIBE_VAULT_EVENTS -eq 'true') {
  Write-Host 'rotor: Event Grid subscriptions are provisioned.'
  exit 0
}
Write-Host 'rotor: the vaultEvents function is deployed; provisioning the Event Grid subscriptions.'
azd env set ROTOR_SUBSCRIBE_VAULT_EVENTS true
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
azd provision --no-prompt
exit $LASTEXITCODE
