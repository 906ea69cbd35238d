#!/usr/bin/env bash
# A PostgreSQL high-availability cluster on one machine, for the failover drill (BENCHMARKS.md,
# RELIABILITY; docs/OPERATIONS.md): a single-node etcd, three PostgreSQL 15 nodes under Patroni
# with synchronous replication (one synchronous standby), and HAProxy sending connections to
# whichever node Patroni's REST API calls the primary. It installs nothing: it needs `etcd`,
# `patroni` and `haproxy` on PATH (Debian: apt-get install etcd-server patroni haproxy).
#
#   cluster.sh start DIR   # ports from ETCD_PORT ETCD_PEER_PORT HAPROXY_PORT PG_PORTS REST_PORTS
#   cluster.sh rejoin DIR NODE   # start NODE's Patroni again after it was killed
#   cluster.sh stop DIR
#
# Run as root, every process runs as the `postgres` OS user (PostgreSQL refuses root).
set -euo pipefail
command=${1:?start or stop}
dir=${2:?a directory}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=postgres --regid=postgres --init-groups "$@"
    else
        "$@"
    fi
}

# Starts a long-running program as the `postgres` user in the background, its pid in $2.
spawn_as_postgres() {
    local log=$1 pidfile=$2
    shift 2
    if [ "$(id -u)" = 0 ]; then
        (exec setpriv --reuid=postgres --regid=postgres --init-groups "$@" >>"$log" 2>&1) &
    else
        (exec "$@" >>"$log" 2>&1) &
    fi
    echo $! >"$pidfile"
}

start() {
    for tool in etcd patroni haproxy; do
        command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install etcd-server patroni haproxy)" >&2; exit 3; }
    done
    [ -x "$PG_BIN/postgres" ] || { echo "missing: PostgreSQL 15 in $PG_BIN" >&2; exit 3; }
    read -r -a pg_ports <<<"$PG_PORTS"
    read -r -a rest_ports <<<"$REST_PORTS"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 0700 "$dir"

    spawn_as_postgres "$dir/etcd.log" "$dir/etcd.pid" etcd --name drill --data-dir "$dir/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "drill=http://127.0.0.1:$ETCD_PEER_PORT"

    for i in 0 1 2; do
        node="node$((i + 1))"
        cat >"$dir/$node.yml" <<YAML
scope: flexcover-drill
name: $node
restapi:
  listen: 127.0.0.1:${rest_ports[$i]}
  connect_address: 127.0.0.1:${rest_ports[$i]}
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    # A commit is acknowledged only once the synchronous standby has it, and only that standby
    # may be promoted: a failover loses nothing that was acknowledged.
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_log_hints: "on"
        max_connections: 60
        shared_buffers: 32MB
        max_wal_senders: 5
        max_replication_slots: 5
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:${pg_ports[$i]}
  connect_address: 127.0.0.1:${pg_ports[$i]}
  data_dir: $dir/$node
  bin_dir: $PG_BIN
  pgpass: $dir/$node.pgpass
  authentication:
    superuser: {username: postgres}
    replication: {username: postgres}
    rewind: {username: postgres}
  parameters:
    unix_socket_directories: $dir
YAML
        chown postgres:postgres "$dir/$node.yml" 2>/dev/null || true
        spawn_as_postgres "$dir/$node.log" "$dir/$node.patroni.pid" patroni "$dir/$node.yml"
    done

    {
        echo "global"
        echo "  maxconn 500"
        echo "defaults"
        echo "  mode tcp"
        echo "  timeout connect 2s"
        echo "  timeout client 30m"
        echo "  timeout server 30m"
        echo "  timeout check 1s"
        echo "listen primary"
        echo "  bind 127.0.0.1:$HAPROXY_PORT"
        echo "  option httpchk GET /primary"
        echo "  http-check expect status 200"
        # Sessions to a node that stops being the primary are cut, so no client keeps writing to
        # a demoted or orphaned server.
        echo "  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions"
        for i in 0 1 2; do
            echo "  server node$((i + 1)) 127.0.0.1:${pg_ports[$i]} check port ${rest_ports[$i]}"
        done
    } >"$dir/haproxy.cfg"
    spawn_as_postgres "$dir/haproxy.log" "$dir/haproxy.pid" haproxy -db -f "$dir/haproxy.cfg"
}

stop() {
    for pidfile in "$dir"/haproxy.pid "$dir"/node*.patroni.pid; do
        [ -f "$pidfile" ] && kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 2
    for data in "$dir"/node?; do
        [ -f "$data/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$data" stop -m immediate -w >/dev/null 2>&1 || true
    done
    [ -f "$dir/etcd.pid" ] && kill -TERM "$(cat "$dir/etcd.pid")" 2>/dev/null || true
    for pidfile in "$dir"/*.pid; do
        [ -f "$pidfile" ] && kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
    done
}

case "$command" in
    start) start ;;
    rejoin)
        node=${3:?a node name}
        spawn_as_postgres "$dir/$node.log" "$dir/$node.patroni.pid" patroni "$dir/$node.yml"
        ;;
    stop) stop ;;
    *) echo "usage: cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
