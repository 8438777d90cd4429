#!/bin/sh
# Refuses to start while a required secret is unset or still a placeholder: no default passwords.
set -eu
for name in ${REQUIRED_SECRETS:-}; do
  eval "value=\${$name:-}"
  case "$value" in
    ""|changeme|CHANGE_ME|change-me|password|secret)
      echo "refusing to start: secret $name is not set (run deploy/scripts/init-secrets.ts, then fill in what it left empty in deploy/env/)" >&2
      exit 78 ;;
  esac
  if [ "${#value}" -lt 16 ]; then
    echo "refusing to start: secret $name is shorter than 16 characters" >&2
    exit 78
  fi
done
# The compiled service (its dist/*.js); stack traces through the source maps name the TypeScript lines.
exec node --enable-source-maps "$@"
