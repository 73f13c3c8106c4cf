// Package systemd is the sandbox's model of systemd as the boot scripts
// meet it: unit files and their load path, enablement for
// multi-user.target, systemctl's verbs, and the mounts a unit requires
// (RequiresMountsFor=, x-systemd.before=).
//
// Upstream sources it follows, cited beside each function: systemd.unit(5)
// ("Unit File Load Path", RequiresMountsFor=), systemd.mount(5) and
// systemctl(1) (exit status 3 of is-active, 5 for a unit not found).
// The daemons it starts are the models the sandbox wires into Env.Models.
package systemd
