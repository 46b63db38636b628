#!/bin/sh
# azd postdeploy hook. Event Grid refuses a subscription to a function that does not exist yet, so the first
# `azd up` provisions without the vault event subscriptions; once the code (and so the vaultEvents function) is
# deployed, this turns them on and provisions again. Later runs find the flag set and do nothing.
set -eu
if [ "${ROTOR_SUBSCRIBE_VAULT_EVENTS:-false}" = "true" ]; then
  echo "rotor: Event Grid subscriptions are provisioned."
  exit 0
fi
echo "rotor: the vaultEvents function is deployed; provisioning the Event Grid subscriptions."
azd env set ROTOR_SUBSCRIBE_VAULT_EVENTS true
azd provision --no-prompt
