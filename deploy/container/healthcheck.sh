#!/bin/bash
# The image's HEALTHCHECK: `GET /healthz` over plain HTTP on the address the entrypoint
# wrote (the role's port); healthy only on `200` (503 while the database does not
# answer). bash's /dev/tcp: the slim image has no curl. A participant serving HTTPS
# (--tls-cert) needs a HEALTHCHECK of its own.
addr=$(cat /tmp/paymesh.listen 2>/dev/null || echo "${PAYMESH_LISTEN:-}")
port=${addr##*:}
host=${addr%:*}
host=${host#[}
host=${host%]}
case "$host" in "" | 0.0.0.0 | "::") host=127.0.0.1 ;; esac
[[ -n "$port" ]] || { echo "no listen address"; exit 1; }
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
read -r -t 5 _ code _ <&3 || { echo "no answer"; exit 1; }
echo "GET /healthz: $code"
[[ "$code" == 200 ]]
