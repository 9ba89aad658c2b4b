#!/usr/bin/env bash
# A Slurm cluster of one or more nodes on this machine, for trying and testing the Slurm paths:
#   sudo scripts/slurm_cluster.sh [nodes=N]        (as root; Debian or Ubuntu; N defaults to 1)
# Installs slurmd, slurmctld, slurm-client and munge if missing, writes /etc/slurm/slurm.conf
# (N nodes, partition "debug" over all of them, no accounting, no cgroups), starts munged,
# slurmctld and one slurmd per node, and waits until every node takes jobs. One node is this
# machine by its own name; several are dlnotes-node1 … dlnotes-nodeN, each a slurmd with its own
# port, spool folder, log and pid file, their names resolving to 127.0.0.1 (/etc/hosts), since a
# multi-node job's master address is its first node's name. Every node offers all the machine's
# CPUs (they share them). Running it again with the cluster up as asked changes nothing; with
# another node count, it rewrites the configuration and restarts the daemons. When it cannot,
# it says why in one line and exits 1.
set -uo pipefail

PARTITION=debug
CONF=/etc/slurm/slurm.conf
FIRST_PORT=17001

fail() {
  echo "slurm_cluster: $*" >&2
  exit 1
}

nodes=1
for arg in "$@"; do
  case $arg in
    nodes=*) nodes=${arg#nodes=} ;;
    *) fail "unknown argument '$arg': use nodes=N" ;;
  esac
done
[[ $nodes =~ ^[1-9][0-9]*$ ]] || fail "nodes=$nodes: give a whole number of nodes, 1 or more"

node_names() {
  if ((nodes == 1)); then
    hostname -s
  else
    for i in $(seq "$nodes"); do echo "dlnotes-node$i"; done
  fi
}

ready_nodes() { # how many of the partition's nodes take jobs
  sinfo --noheader --partition "$PARTITION" --Node --format "%N %T" 2>/dev/null \
    | awk '$2 ~ /^(idle|mixed|allocated)/ {print $1}' | sort -u | wc -l
}

configured_nodes() { # the partition's node names, one per line, as Slurm knows them
  sinfo --noheader --partition "$PARTITION" --Node --format %N 2>/dev/null | sort -u
}

cluster_up() {
  [[ "$(configured_nodes)" == "$(node_names | sort)" ]] && (($(ready_nodes) == nodes))
}

if command -v sinfo >/dev/null && cluster_up; then
  echo "slurm_cluster: already up (partition $PARTITION, $nodes node(s))"
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
mapfile -t names < <(node_names)

if ((nodes > 1)); then # the node names must resolve: a job's master address is its first node
  for name in "${names[@]}"; do
    grep -Eq "^127\.0\.0\.1[[:space:]].*\b${name}\b" /etc/hosts \
      || echo "127.0.0.1 ${name}" >>/etc/hosts \
      || fail "could not add ${name} to /etc/hosts"
  done
  for name in "${names[@]}"; do
    getent hosts "$name" >/dev/null || fail "node name $name does not resolve (check /etc/hosts and nsswitch.conf)"
  done
fi

node_lines=""
for i in "${!names[@]}"; do
  port=$((FIRST_PORT + i))
  if ((nodes == 1)); then
    node_lines+="NodeName=${names[$i]} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memory_mb} State=UNKNOWN"$'\n'
  else
    node_lines+="NodeName=${names[$i]} NodeHostname=${host} NodeAddr=127.0.0.1 Port=${port} CPUs=${cpus} RealMemory=${memory_mb} State=UNKNOWN"$'\n'
  fi
done

mkdir -p /etc/slurm /var/spool/slurmctld /var/log/slurm /run/munge
for name in "${names[@]}"; do mkdir -p "/var/spool/slurmd/$name"; done
cat >"$CONF" <<EOF
# written by dlnotes scripts/slurm_cluster.sh: ${nodes} node(s) on one machine, no accounting, no cgroups
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
SlurmdSpoolDir=/var/spool/slurmd/%n
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd-%n.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
${node_lines}PartitionName=${PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

if ! pgrep -x munged >/dev/null; then
  [[ -f /etc/munge/munge.key ]] || mungekey --create >/dev/null 2>&1 \
    || fail "could not create /etc/munge/munge.key"
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null
  runuser -u munge -- munged || fail "munged did not start"
fi
pkill -x slurmctld
pkill -x slurmd
sleep 1
# a node count changed: the saved state names nodes that are gone
rm -rf /var/spool/slurmctld/*
slurmctld || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
for name in "${names[@]}"; do
  if ((nodes == 1)); then
    slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd-${name}.log)"
  else
    slurmd -N "$name" || fail "slurmd for $name did not start (see /var/log/slurm/slurmd-${name}.log)"
  fi
done

for _ in $(seq 60); do
  if cluster_up; then
    echo "slurm_cluster: up: partition $PARTITION, ${nodes} node(s) (${names[*]}) with $cpus CPUs each"
    exit 0
  fi
  for name in "${names[@]}"; do scontrol update nodename="$name" state=resume >/dev/null 2>&1; done
  sleep 1
done
fail "$(ready_nodes) of ${nodes} node(s) became ready in 60 s (see /var/log/slurm/slurmd-*.log)"
