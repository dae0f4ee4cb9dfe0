#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by tests/slurm/start.sh.
#
# Usage: tests/slurm/stop.sh [STATE_DIR]      (default /tmp/schedbench-slurm)
#        tests/slurm/stop.sh --daemon-pidfiles (used by start.sh: the daemons'
#                                               own pid files under /run)
#
# Cancels the cluster's jobs, then stops slurmd, slurmctld and munged by the
# PIDs recorded in STATE_DIR (TERM, wait up to 20 s, then KILL). A PID is only
# signalled if the process still has the expected command name, so a stale pid
# file never hits an unrelated process. Then removes the /etc/slurm/slurm.conf start.sh wrote (when it is
# still that file), so no client waits for a controller that is gone. Idempotent: nothing recorded or nothing
# running is success.
set -euo pipefail

log() { echo "[slurm stop] $*" >&2; }

if [[ ${1:-} == --daemon-pidfiles ]]; then
    SLURMD_PIDFILE=/run/slurmd.pid
    SLURMCTLD_PIDFILE=/run/slurmctld.pid
    MUNGED_PIDFILE=/run/munge/munged.pid
else
    STATE_DIR=${1:-/tmp/schedbench-slurm}
    SLURMD_PIDFILE=$STATE_DIR/slurmd.pid
    SLURMCTLD_PIDFILE=$STATE_DIR/slurmctld.pid
    MUNGED_PIDFILE=$STATE_DIR/munged.pid
fi

if [[ -z ${SCHEDBENCH_SLURM_LOCKED:-} ]] && [[ -w /run ]]; then
    exec 9>/run/schedbench-slurm.lock
    flock -w 120 9 || { log "ERROR: lock /run/schedbench-slurm.lock is held"; exit 1; }
fi

# PID from FILE if it names a live (non-zombie) process called NAME, else "".
live_pid() { # NAME FILE
    local pid stat comm
    [[ -r $2 ]] || return 0
    pid=$(tr -dc 0-9 <"$2")
    [[ -n $pid ]] || return 0
    comm=$(ps -o comm= -p "$pid" 2>/dev/null) || return 0
    stat=$(ps -o stat= -p "$pid" 2>/dev/null) || return 0
    [[ $comm == "$1" && $stat != Z* ]] && echo "$pid"
    return 0
}

alive() { # PID
    local stat
    stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $stat != Z* ]]
}

stop_pid() { # NAME PID
    local _
    kill -TERM "$2" 2>/dev/null || true
    for _ in $(seq 200); do alive "$2" || return 0; sleep 0.1; done
    log "$1 (pid $2) ignored SIGTERM for 20 s: SIGKILL"
    kill -KILL "$2" 2>/dev/null || true
    for _ in $(seq 50); do alive "$2" || return 0; sleep 0.1; done
    log "ERROR: $1 (pid $2) still alive after SIGKILL"
    return 1
}

rc=0
ctld=$(live_pid slurmctld "$SLURMCTLD_PIDFILE")
slurmd=$(live_pid slurmd "$SLURMD_PIDFILE")

# Cancel the jobs still queued or running, so no slurmstepd/job outlives slurmd.
if [[ -n $ctld ]]; then
    jobs=$(timeout 10 squeue -h -t PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING \
        -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
    if [[ -n ${jobs// /} ]]; then
        log "cancelling jobs: $jobs"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 100); do
            [[ -z $(timeout 5 squeue -h -t RUNNING,COMPLETING -o %A 2>/dev/null) ]] && break
            sleep 0.1
        done
    fi
fi

stepds() { ps -eo pid=,comm= | awk '$2 == "slurmstepd" { print $1 }'; }
if [[ -n $slurmd ]]; then
    log "stopping slurmd (pid $slurmd)"
    stop_pid slurmd "$slurmd" || rc=1
    # Job steps of *this* node's slurmd (only one slurmd runs per machine).
    for p in $(stepds); do
        log "stopping leftover slurmstepd (pid $p)"
        stop_pid slurmstepd "$p" || rc=1
    done
fi
if [[ -n $ctld ]]; then
    log "stopping slurmctld (pid $ctld)"
    stop_pid slurmctld "$ctld" || rc=1
fi
munged=$(live_pid munged "$MUNGED_PIDFILE")
if [[ -n $munged ]]; then
    log "stopping munged (pid $munged)"
    stop_pid munged "$munged" || rc=1
fi

if ((rc == 0)); then
    rm -f "$SLURMD_PIDFILE" "$SLURMCTLD_PIDFILE" "$MUNGED_PIDFILE"
    # The configuration start.sh wrote names a controller that is gone now: every SLURM client command would
    # wait ~9 s for it, and Snakemake's SLURM plugin runs `scontrol show config` each time Snakemake starts.
    if [[ -n ${STATE_DIR:-} ]] && cmp -s /etc/slurm/slurm.conf "$STATE_DIR/slurm.conf"; then
        rm -f /etc/slurm/slurm.conf
    fi
fi
exit "$rc"
