#!/bin/bash
# voicefleet @@ENV_NAME@@: boots an instance of the voicefleet image (runtime, CosyVoice, CloudWatch agent baked in by
# infra/image) into a serving node. Rendered by infra/fleet/user_data.py, which fills in every placeholder at synth.
# Installs nothing: it writes this environment's settings and units, then `voicefleet-instance prepare` fetches the
# keys and (unless baked) the weights and starts the service, and the gate unit completes the launch hook.
set -euo pipefail
mkdir -p /var/log/voicefleet
exec > >(tee -a @@BOOT_LOG@@) 2>&1
echo "voicefleet boot start $(date -Is)"
BIN=@@BIN@@
# Any failing command ends the launch with its reason instead of leaving it to the hook's timeout.
trap '"$BIN/voicefleet-instance" abandon --config @@BOOT_CONFIG@@ --reason "user data line $LINENO: $BASH_COMMAND" || true' ERR

install -d -m 0755 @@ETC@@
cat > @@BOOT_CONFIG@@ <<'VF_BOOT'
@@BOOT_JSON@@
VF_BOOT

install -d -m 0755 @@AGENT_ETC@@
cat > @@PROMETHEUS_CONFIG@@ <<'VF_PROM'
@@PROMETHEUS_YAML@@
VF_PROM
cat > @@AGENT_CONFIG@@ <<'VF_CWAGENT'
@@CWAGENT_JSON@@
VF_CWAGENT

# The service, as the image's service user. State, cache and logs directories are created for that user by systemd
# (the user cannot write /var/spool or the root-owned venv and home); numba (librosa) caches under the cache
# directory. Exit 2 is a settings error: restarting cannot fix it, so systemd stops and the gate reports it.
cat > @@SYSTEMD@@/@@SERVICE_UNIT@@ <<'VF_UNIT'
[Unit]
Description=voicefleet synthesis service (@@ENV_NAME@@)
After=network-online.target
Wants=network-online.target

[Service]
User=@@SERVICE_USER@@
Group=@@SERVICE_USER@@
EnvironmentFile=@@SERVICE_ENV@@
Environment=HOME=@@STATE@@
Environment=XDG_CACHE_HOME=@@CACHE@@
Environment=NUMBA_CACHE_DIR=@@CACHE@@/numba
StateDirectory=voicefleet
CacheDirectory=voicefleet
LogsDirectory=voicefleet
ExecStart=@@BIN@@/tts-serve --host 0.0.0.0 --port @@PORT@@
Restart=always
RestartSec=5
RestartPreventExitStatus=2
KillSignal=SIGTERM
TimeoutStopSec=@@STOP_TIMEOUT_S@@
StandardOutput=append:@@SERVICE_LOG@@
StandardError=append:@@SERVICE_LOG@@

[Install]
WantedBy=multi-user.target
VF_UNIT

# Every boot (a warm-pool instance boots again when it is started): launch hook CONTINUE once the service serves.
cat > @@SYSTEMD@@/@@GATE_UNIT@@ <<'VF_GATE'
[Unit]
Description=voicefleet: complete the launch hook once the service answers and synthesizes
After=network-online.target @@SERVICE_UNIT@@
Wants=network-online.target

[Service]
Type=oneshot
EnvironmentFile=@@INSTANCE_ENV@@
ExecStart=@@BIN@@/voicefleet-instance gate --config @@BOOT_CONFIG@@
StandardOutput=append:@@BOOT_LOG@@
StandardError=append:@@BOOT_LOG@@

[Install]
WantedBy=multi-user.target
VF_GATE

# On scale-in or replacement: drain the service, then let Auto Scaling terminate the instance.
cat > @@SYSTEMD@@/@@WATCH_UNIT@@ <<'VF_WATCH'
[Unit]
Description=voicefleet: drain on Auto Scaling termination
After=network-online.target

[Service]
EnvironmentFile=@@INSTANCE_ENV@@
ExecStart=@@BIN@@/voicefleet-instance watch --config @@BOOT_CONFIG@@
Restart=on-failure
StandardOutput=append:@@BOOT_LOG@@
StandardError=append:@@BOOT_LOG@@

[Install]
WantedBy=multi-user.target
VF_WATCH

# Both end the launch themselves (with the reason) when they fail: `|| exit 1` keeps the trap from doing it twice.
"$BIN/voicefleet-instance" prepare --config @@BOOT_CONFIG@@ || exit 1
systemctl start @@GATE_UNIT@@ || exit 1
echo "voicefleet boot done $(date -Is)"
