#!/usr/bin/env bash
# Removes plantsync: stops and disables the unit, removes the unit and the binary. The config (/etc/plantsync),
# the spool (/var/lib/plantsync: events not yet delivered, dead letters, the audit log) and the plantsync user
# stay unless --purge is given. Run as root:  sudo systemd/uninstall.sh [--purge]
# DESTDIR=/some/root removes from a staging tree (tests): no systemctl, no userdel.
set -euo pipefail
purge=no
case "${1:-}" in
  --purge) purge=yes ;;
  "") ;;
  *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
esac
root="${DESTDIR:-}"
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then echo "uninstall.sh: run as root (or set DESTDIR)" >&2; exit 2; fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now plantsync.service 2>/dev/null || true
fi
rm -f "$root/etc/systemd/system/plantsync.service" "$root/usr/local/bin/plantsync"
[ -z "$root" ] && [ -d /run/systemd/system ] && systemctl daemon-reload
if [ "$purge" = yes ]; then
  rm -rf "$root/etc/plantsync" "$root/var/lib/plantsync" "$root/var/cache/plantsync"
  [ -z "$root" ] && id plantsync >/dev/null 2>&1 && userdel plantsync
  echo "plantsync removed with its config, spool and user"
else
  echo "plantsync removed; kept /etc/plantsync and /var/lib/plantsync (the spool). --purge removes them too"
fi
