// Package machine is the base of the node sandbox: what a stand-in sees of
// the EC2 instance it runs on (Env: the node's root, its own books, its
// virtual clock, locks and the record of every process started), and the
// parts of Ubuntu 24.04 the boot scripts touch that belong to no one
// program: block devices and their attachment, file systems, mounts and
// /etc/fstab, apt and the few small commands (sleep, chown, gpg,
// lsb_release, snap).
//
// Every other model imports it; none of it imports a model. The sandbox
// wires the models into each Env (Models), so that apt can install
// mongodb-org and systemctl can start mongod without importing them.
//
// Upstream sources it follows, cited beside each stand-in: mount(8),
// umount(8), mountpoint(1), blkid(8), mkfs.xfs(8), fstab(5) and
// systemd.mount(5) for the fstab options systemd reads (nofail,
// x-systemd.device-timeout=); apt-get(8) and apt-secure(8); the EBS NVMe
// device names of "Amazon EBS and NVMe" (Amazon EC2 User Guide).
package machine
