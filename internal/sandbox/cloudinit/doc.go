// Package cloudinit is the sandbox's model of the cloud-init command a boot
// script may call (cloud-init status).
//
// Upstream source: canonical/cloud-init, cloudinit/cmd/status.py.
package cloudinit
