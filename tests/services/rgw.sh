#!/usr/bin/env bash
# A throwaway single-node Ceph RADOS Gateway for the S3 tests: one monitor, one memstore OSD, no
# cephx, RGW with the user zarrAK/zarrSK. Everything lives under DIR; nothing is installed or
# written elsewhere, and no systemd is needed.
#
#   tests/services/rgw.sh start DIR    start the daemons (DIR is wiped first); prints the endpoint
#   tests/services/rgw.sh stop DIR     stop the daemons started under DIR (by their pid files)
#
# Ports (environment): ZARRPP_RGW_PORT (default 7480), ZARRPP_MON_PORT (msgr2, default 3300),
# ZARRPP_MON_V1_PORT (msgr1, default 6789). The OSD picks free ports itself.
# Needs the Debian packages radosgw ceph-mon ceph-osd ceph-common (.ci/install-deps.sh).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
B=$2
rgw_port=${ZARRPP_RGW_PORT:-7480}
mon_port=${ZARRPP_MON_PORT:-3300}
mon_v1_port=${ZARRPP_MON_V1_PORT:-6789}

stop() {
  local pids=() f pid
  for f in "$B"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  kill "${pids[@]}" 2>/dev/null || true
  # Wait up to 10 s for them to go, then force.
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.2
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}

start() {
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "rgw.sh: $tool is not installed (apt-get install radosgw ceph-mon ceph-osd ceph-common)" >&2
      exit 3
    fi
  done
  # DIR is wiped: refuse anything that does not look like a work directory of this script.
  if [ -e "$B" ] && [ -n "$(ls -A "$B" 2>/dev/null)" ] && [ ! -f "$B/ceph.conf" ]; then
    echo "rgw.sh: $B exists and is not an RGW work directory; not wiping it" >&2
    exit 2
  fi
  if [ -d "$B/run" ]; then stop; fi
  rm -rf "$B"
  mkdir -p "$B"/{mon/a,osd/0,run,log,rgw}
  local fsid osd_uuid id conf="-c $B/ceph.conf"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  local mon_addr="[v2:127.0.0.1:$mon_port,v1:127.0.0.1:$mon_v1_port]"
  cat >"$B/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = $mon_addr
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
run dir = $B/run
admin socket = $B/run/\$name.asok
log file = $B/log/\$name.log
pid file = $B/run/\$name.pid
keyring = $B/keyring
[mon.a]
mon data = $B/mon/a
[osd.0]
osd data = $B/osd/0
osd objectstore = memstore
memstore device bytes = 2147483648
osd memory target = 1073741824
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $B/rgw
rgw thread pool size = 32
CONF
  ceph-authtool --create-keyring "$B/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "$mon_addr" "$B/monmap" >/dev/null
  ceph-mon $conf -i a --mkfs --monmap "$B/monmap"
  ceph-mon $conf -i a
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph $conf osd new "$osd_uuid")
  ceph-osd $conf -i "$id" --mkfs --osd-uuid "$osd_uuid" 2>>"$B/log/osd-mkfs.err"
  ceph-osd $conf -i "$id" 2>>"$B/log/osd-start.err"
  local up=0
  for _ in $(seq 1 60); do
    if ceph $conf osd stat 2>/dev/null | grep -q '1 up'; then up=1; break; fi
    sleep 1
  done
  if [ $up -eq 0 ]; then
    echo "rgw.sh: the OSD did not come up in 60 s (logs in $B/log)" >&2
    stop
    exit 1
  fi
  radosgw $conf -n client.rgw.a
  up=0
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null "http://127.0.0.1:$rgw_port/"; then up=1; break; fi
    sleep 1
  done
  if [ $up -eq 0 ]; then
    echo "rgw.sh: radosgw did not answer on 127.0.0.1:$rgw_port in 120 s (logs in $B/log)" >&2
    stop
    exit 1
  fi
  radosgw-admin $conf user create --uid=zarr --display-name=zarr --access-key=zarrAK \
    --secret-key=zarrSK >/dev/null
  echo "RGW up on http://127.0.0.1:$rgw_port  access key zarrAK  secret zarrSK  region us-east-1" \
    "(conf $B/ceph.conf)"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
