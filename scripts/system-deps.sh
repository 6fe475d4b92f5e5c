#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing:
# PostgreSQL (the control plane's production database, started by the tests),
# Chromium (the dashboard's end-to-end tests; no test tool downloads its own browser),
# and rsyslog with its Kafka output (the peer `python -m bench.syslog` measures against).
set -euo pipefail

missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
[ -f /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ] || ls /usr/lib/*/rsyslog/omkafka.so >/dev/null 2>&1 || missing+=(rsyslog-kafka)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "error: missing ${missing[*]}; install them with apt-get (needs root)" >&2
    exit 1
  fi
  as_root=""
  [ "$(id -u)" = "0" ] || as_root="sudo"
  echo "… installing ${missing[*]} from Debian's packages"
  $as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
