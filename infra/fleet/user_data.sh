#!/bin/bash
# voicefleet @@ENV_NAME@@: turns a fresh AWS Deep Learning Base GPU AMI (Ubuntu 24.04) instance into a synthesis node.
# Rendered by infra/fleet/user_data.py, which fills in every placeholder at synth time.
set -euo pipefail
mkdir -p /var/log/voicefleet
exec > >(tee -a /var/log/voicefleet-boot.log) 2>&1
echo "voicefleet boot start $(date -Is)"

REGION="@@REGION@@"
ASG_NAME="@@ASG_NAME@@"
MODELS_BUCKET="@@MODELS_BUCKET@@"
MODEL_PREFIX="@@MODEL_PREFIX@@"
USE_INSTANCE_STORE="@@USE_INSTANCE_STORE@@"
LAUNCH_HOOK="@@LAUNCH_HOOK@@"
export AWS_DEFAULT_REGION="$REGION"

IMDS=http://169.254.169.254/latest
imds() {
  local token
  token=$(curl -sf -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
  curl -sf -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/$1"
}
INSTANCE_ID=$(imds instance-id)
PURCHASE_OPTION=$(imds instance-life-cycle || echo on-demand)

# --- CloudWatch agent first, so the rest of the boot log reaches CloudWatch Logs -----------------------------------
if [ ! -x /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl ]; then
  curl -sfL -o /tmp/amazon-cloudwatch-agent.deb \
    https://s3.amazonaws.com/amazoncloudwatch-agent/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb
  dpkg -i -E /tmp/amazon-cloudwatch-agent.deb
fi
mkdir -p /opt/aws/amazon-cloudwatch-agent/etc
cat > /opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml <<'VF_PROM'
@@PROMETHEUS_CONFIG@@
VF_PROM
cat > /opt/aws/amazon-cloudwatch-agent/etc/voicefleet.json <<'VF_CWAGENT'
@@CWAGENT_CONFIG@@
VF_CWAGENT
sed -i "s/@@PURCHASE_PLACEHOLDER@@/${PURCHASE_OPTION}/g" /opt/aws/amazon-cloudwatch-agent/etc/voicefleet.json
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/voicefleet.json

# --- Model storage: NVMe instance store when the type has one (the DLAMI mounts it at /opt/dlami/nvme) -------------
# Instance store is wiped on stop, so warm-pool fleets (stopped instances) keep the model on the EBS root instead.
if [ "$USE_INSTANCE_STORE" = "true" ] && mountpoint -q /opt/dlami/nvme; then
  DATA=/opt/dlami/nvme/voicefleet
else
  DATA=/var/lib/voicefleet
fi
MODEL_DIR="$DATA/models/cosyvoice3"
id voicefleet >/dev/null 2>&1 || useradd --system --home-dir /opt/voicefleet --shell /usr/sbin/nologin voicefleet
mkdir -p "$MODEL_DIR" /opt/voicefleet /etc/voicefleet
chown -R voicefleet:voicefleet "$DATA" /var/log/voicefleet

# --- Python: a uv-managed CPython 3.11 (voicefleet needs >= 3.11; the AMI ships 3.12, newer than CosyVoice's pins) --
command -v aws >/dev/null || { apt-get update -q && apt-get install -y -q awscli; }
python3 -m venv /opt/voicefleet/bootstrap
/opt/voicefleet/bootstrap/bin/pip install --quiet "uv==@@UV_VERSION@@"
UV=/opt/voicefleet/bootstrap/bin/uv
export UV_PYTHON_INSTALL_DIR=/opt/voicefleet/python
"$UV" venv --python 3.11 /opt/voicefleet/venv
PY=/opt/voicefleet/venv/bin/python

# --- CosyVoice (not on PyPI): the tarball of a pinned commit, uploaded next to the weights -----------------------
aws s3 cp "s3://$MODELS_BUCKET/@@COSYVOICE_CODE_KEY@@" /tmp/cosyvoice.tar.gz
rm -rf /opt/voicefleet/cosyvoice && mkdir -p /opt/voicefleet/cosyvoice
tar -xzf /tmp/cosyvoice.tar.gz -C /opt/voicefleet/cosyvoice --strip-components=1
"$UV" pip install --python "$PY" -r /opt/voicefleet/cosyvoice/requirements.txt

# --- voicefleet itself, from the CDK source asset ------------------------------------------------------------------
aws s3 cp "@@SOURCE_ASSET_URL@@" /tmp/voicefleet-src.zip
rm -rf /opt/voicefleet/src && mkdir -p /opt/voicefleet/src
"$PY" -m zipfile -e /tmp/voicefleet-src.zip /opt/voicefleet/src
"$UV" pip install --python "$PY" "/opt/voicefleet/src[service,gpu]"

# --- Weights: models bucket -> local disk, checksums verified -------------------------------------------------------
sudo -u voicefleet /opt/voicefleet/venv/bin/voicefleet-models pull \
  --bucket "$MODELS_BUCKET" --prefix "$MODEL_PREFIX" --to "$MODEL_DIR"

# --- Settings (API keys from Secrets Manager; the file is readable by root and the service only) ------------------
API_KEYS=$(aws secretsmanager get-secret-value --secret-id "@@API_KEYS_SECRET@@" --query SecretString --output text)
ADMIN_KEY=$(aws secretsmanager get-secret-value --secret-id "@@ADMIN_KEY_SECRET@@" --query SecretString --output text)
install -m 0640 -o root -g voicefleet /dev/null /etc/voicefleet/service.env
cat > /etc/voicefleet/service.env <<VF_ENV
@@SERVICE_ENV@@
TTS_MODEL_DIR=$MODEL_DIR
TTS_API_KEYS=$API_KEYS
TTS_ADMIN_KEY=$ADMIN_KEY
PYTHONPATH=/opt/voicefleet/cosyvoice:/opt/voicefleet/cosyvoice/third_party/Matcha-TTS
VF_ENV

# --- The service under systemd: Restart=always brings a deliberate recycle (memory hygiene) straight back ---------
cat > /etc/systemd/system/voicefleet.service <<'VF_UNIT'
[Unit]
Description=voicefleet synthesis service (CosyVoice3)
After=network-online.target
Wants=network-online.target

[Service]
User=voicefleet
Group=voicefleet
EnvironmentFile=/etc/voicefleet/service.env
ExecStart=/opt/voicefleet/venv/bin/tts-serve --host 0.0.0.0 --port @@PORT@@
Restart=always
RestartSec=5
KillSignal=SIGTERM
TimeoutStopSec=@@STOP_TIMEOUT_S@@
StandardOutput=append:/var/log/voicefleet/service.log
StandardError=append:/var/log/voicefleet/service.log

[Install]
WantedBy=multi-user.target
VF_UNIT

# --- Lifecycle watcher: on scale-in, drain the service, then let Auto Scaling terminate the instance -------------
cat > /opt/voicefleet/lifecycle-watch.sh <<'VF_WATCH'
#!/bin/bash
set -uo pipefail
IMDS=http://169.254.169.254/latest
while true; do
  token=$(curl -sf -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
  state=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/autoscaling/target-lifecycle-state")
  if [ "$state" = "Terminated" ]; then
    systemctl stop voicefleet.service
    instance=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/instance-id")
    aws autoscaling complete-lifecycle-action --lifecycle-hook-name "@@DRAIN_HOOK@@" \
      --auto-scaling-group-name "@@ASG_NAME@@" --instance-id "$instance" --lifecycle-action-result CONTINUE
    exit 0
  fi
  sleep 5
done
VF_WATCH
chmod 0755 /opt/voicefleet/lifecycle-watch.sh
cat > /etc/systemd/system/voicefleet-lifecycle.service <<'VF_WATCH_UNIT'
[Unit]
Description=voicefleet: drain on Auto Scaling termination
After=network-online.target

[Service]
Environment=AWS_DEFAULT_REGION=@@REGION@@
ExecStart=/opt/voicefleet/lifecycle-watch.sh
Restart=on-failure

[Install]
WantedBy=multi-user.target
VF_WATCH_UNIT

systemctl daemon-reload
systemctl enable voicefleet.service voicefleet-lifecycle.service
STATE=$(imds autoscaling/target-lifecycle-state || echo InService)
if [[ "$STATE" == Warmed:* ]]; then
  echo "launched into the warm pool ($STATE): model on disk, service starts when the instance is started"
else
  systemctl start voicefleet.service voicefleet-lifecycle.service
fi
if [ -n "$LAUNCH_HOOK" ]; then
  aws autoscaling complete-lifecycle-action --lifecycle-hook-name "$LAUNCH_HOOK" \
    --auto-scaling-group-name "$ASG_NAME" --instance-id "$INSTANCE_ID" --lifecycle-action-result CONTINUE
fi
echo "voicefleet boot done $(date -Is)"
