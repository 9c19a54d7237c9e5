#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for trying `treta-vp sweep --slurm`
# and for CI (../shared/recipes/slurm-single-node.md): `start` installs Debian's
# slurm-wlm and munge if they are missing (needs root and apt), writes a one-node
# configuration under /tmp/slurm and starts munged, slurmctld and slurmd; `stop`
# stops them by their pid files. Cgroups are not used (proctrack/linuxproc,
# task/none): containers rarely delegate them.
set -euo pipefail
state=/tmp/slurm

start() {
  if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
  mkdir -p "$state"/{state,spool,log}
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(free -m | awk '/Mem:/{print $2}') - 1024 ))
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/ctld.log
SlurmdLogFile=$state/log/d.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  mkdir -p /run/munge
  chown munge:munge /run/munge /etc/munge/munge.key
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    su -s /bin/sh munge -c munged
  fi
  slurmctld
  slurmd
  # Wait until the node is idle.
  for _ in $(seq 1 30); do
    if sinfo -h -o %t 2>/dev/null | grep -q idle; then
      sinfo
      return 0
    fi
    sleep 1
  done
  echo "slurm did not come up; logs in $state/log" >&2
  return 1
}

stop() {
  local pids=() file
  for file in "$state/slurmd.pid" "$state/slurmctld.pid" /run/munge/munged.pid; do
    if [ -f "$file" ]; then
      pids+=("$(cat "$file")")
    fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    # slurmctld saves its state on the way out: wait, so a start right after
    # finds no daemon still running.
    local pid alive
    for _ in $(seq 1 20); do
      alive=0
      for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then alive=1; fi
      done
      [ "$alive" = 0 ] && break
      sleep 0.5
    done
  fi
  rm -f "$state/slurmd.pid" "$state/slurmctld.pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
