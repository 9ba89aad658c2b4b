#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying and testing the Slurm paths:
#   sudo scripts/slurm_cluster.sh        (as root; Debian or Ubuntu)
# Installs slurmd, slurmctld, slurm-client and munge if missing, writes /etc/slurm/slurm.conf
# (one node with this machine's CPUs, partition "debug", no accounting, no cgroups), starts
# munged, slurmctld and slurmd, and waits until the node takes jobs. Running it again when the
# cluster is up changes nothing. When it cannot, it says why in one line and exits 1.
set -uo pipefail

PARTITION=debug
CONF=/etc/slurm/slurm.conf

fail() {
  echo "slurm_cluster: $*" >&2
  exit 1
}

node_ready() {
  local state
  state=$(sinfo --noheader --partition "$PARTITION" --format %T 2>/dev/null | head -n 1)
  [[ "$state" == idle* || "$state" == mixed* || "$state" == allocated* ]]
}

if command -v sinfo >/dev/null && node_ready; then
  echo "slurm_cluster: already up (partition $PARTITION)"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || fail "needs root to install and start Slurm (run it with sudo)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
  || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || fail "no apt-get: install slurmd, slurmctld, slurm-client and munge yourself"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq slurmd slurmctld slurm-client munge; } \
    >/tmp/slurm_cluster_apt.log 2>&1 \
    || fail "apt-get could not install the Slurm packages (see /tmp/slurm_cluster_apt.log)"
fi

host=$(hostname -s)
cpus=$(nproc)
memory_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10))
mkdir -p /etc/slurm /var/spool/slurmd /var/spool/slurmctld /var/log/slurm /run/munge
cat >"$CONF" <<EOF
# written by dlnotes scripts/slurm_cluster.sh: one node, no accounting, no cgroups
ClusterName=dlnotes
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=600
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memory_mb} State=UNKNOWN
PartitionName=${PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

if ! pgrep -x munged >/dev/null; then
  [[ -f /etc/munge/munge.key ]] || mungekey --create >/dev/null 2>&1 \
    || fail "could not create /etc/munge/munge.key"
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null
  runuser -u munge -- munged || fail "munged did not start"
fi
pkill -x slurmctld; pkill -x slurmd; sleep 1
slurmctld || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"

for _ in $(seq 60); do
  if node_ready; then
    echo "slurm_cluster: up: partition $PARTITION, node $host with $cpus CPUs"
    exit 0
  fi
  scontrol update nodename="$host" state=resume >/dev/null 2>&1
  sleep 1
done
fail "the node did not become ready in 60 s (see /var/log/slurm/slurmd.log)"
