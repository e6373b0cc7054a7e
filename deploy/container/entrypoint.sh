#!/bin/bash
# The image's entrypoint: `ROLE [ARGS…]` runs `paymesh ROLE [ARGS…]` (the role is the
# command; anything else, e.g. `--help`, goes to paymesh unchanged).
#
# * A secret given as a file: PAYMESH_<NAME>_FILE=/run/secrets/… sets PAYMESH_<NAME> from
#   the file's contents, for the secrets paymesh takes from its environment (the list
#   below: PAYMESH_CA_FILE and the like are paths paymesh reads itself and stay as they
#   are); PGPASSWORD_FILE sets PGPASSWORD, the database password a postgres:// URL
#   without one is completed with.
# * Without --listen or PAYMESH_LISTEN a role listens on all of the container's
#   addresses at its usual port (8401 consumer, 8402 provider, 8403 processing, 8404
#   agent), not on the loopback address paymesh defaults to.
# * The address is written to /tmp/paymesh.listen for the HEALTHCHECK.
set -euo pipefail

for name in PAYMESH_ADMIN_PASSWORD PAYMESH_KIOSK_PASSWORD PAYMESH_TERMINAL_PASSWORD \
            PAYMESH_DATABASE_URL PAYMESH_SMTP_URL PGPASSWORD; do
  file_var="${name}_FILE"
  file=${!file_var:-}
  [[ -n "$file" ]] || continue
  if [[ ! -r "$file" ]]; then
    echo "paymesh entrypoint: $file_var=$file cannot be read by uid $(id -u)" \
         "(make the secret readable by it, e.g. chown $(id -u) or mode 0444)" >&2
    exit 78
  fi
  value=$(<"$file")          # without the trailing newline
  export "${name}=${value}"
  unset "$file_var"
done

listen=${PAYMESH_LISTEN:-}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --listen) listen=${args[i + 1]:-} ;;
    --listen=*) listen=${args[i]#--listen=} ;;
  esac
done
if [[ -z "$listen" ]]; then
  case "${1:-}" in
    consumer) listen=0.0.0.0:8401 ;;
    provider) listen=0.0.0.0:8402 ;;
    processing) listen=0.0.0.0:8403 ;;
    agent) listen=0.0.0.0:8404 ;;
  esac
  [[ -z "$listen" ]] || export PAYMESH_LISTEN=$listen
fi
if [[ -n "$listen" ]]; then
  printf '%s\n' "$listen" >/tmp/paymesh.listen 2>/dev/null || true
fi

exec /app/paymesh "$@"
