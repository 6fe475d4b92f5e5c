#!/usr/bin/env bash
# Regenerates turnout/syslog/logline_pb2.py (and its .pyi) from logline.proto with the
# protoc that the grpcio-tools package ships (run once through uv, never a dependency).
set -euo pipefail
cd "$(dirname "$0")/.."
uvx --from 'grpcio-tools==1.85.1' python -m grpc_tools.protoc \
  --proto_path=. --python_out=. --pyi_out=. turnout/syslog/logline.proto
