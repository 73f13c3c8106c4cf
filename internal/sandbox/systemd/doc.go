// Package systemd is a strict model of the parts of systemd a node's boot
// scripts rely on: unit files and drop-ins, the job queue with its ordering,
// oneshot and simple services, restarts, blocking and non-blocking
// systemctl, and the start of enabled units at every boot.
//
// It follows systemd's own sources (github.com/systemd/systemd, v255 as in
// Ubuntu 24.04) and manual pages; each rule cites its source beside it:
//
//   - src/core/job.c job_is_runnable(), job_compare(): a start job waits
//     while any unit it is ordered After= has a job (and Before= for stop
//     jobs of the other unit); job_install(): a job for a unit that already
//     has one merges into it.
//   - src/core/transaction.c transaction_add_job_and_dependencies(): a start
//     job pulls in start jobs for Wants= and Requires=; a failed Requires=
//     dependency fails the job that needs it.
//   - src/core/service.c: Type=oneshot start jobs last until ExecStart exits,
//     RemainAfterExit=yes keeps the unit active afterwards; Type=simple is
//     started once forked; Restart= (always, on-failure) after RestartSec=,
//     refused for always/on-success on oneshot (service_verify());
//     SERVICE_FAILED_BEFORE_AUTO_RESTART maps to UNIT_FAILED, so a start job
//     fails with the attempt and the restart is a new job (v254 and later).
//   - src/core/unit.c unit_test_start_limit(): StartLimitBurst= starts within
//     StartLimitIntervalSec= (defaults 5 in 10 s), then the unit fails with
//     start-limit-hit.
//   - systemctl(1): start, restart and enable --now wait for their jobs
//     unless --no-block is given; "Job for X failed" and exit 1 on failure.
//   - systemd.unit(5): After=, Before=, Wants=, Requires=, WantedBy=,
//     RequiresMountsFor= (implies Requires= and After= on the mount units),
//     ConditionPathExists= (a failed condition skips the unit, not an
//     error), the load path /etc/systemd/system before /run/systemd/system
//     before /lib/systemd/system, drop-ins <unit>.d/*.conf.
//   - systemd.target(5): a target is ordered After= the units it Wants=
//     (default dependencies), so multi-user.target is reached once every
//     unit enabled for it has finished its start job.
//   - systemd.special(7), bootup(7): at boot the manager starts
//     default.target (multi-user.target on a server) and with it every unit
//     that is WantedBy= it (the links in multi-user.target.wants).
//
// What the model adds to systemd: a blocking systemctl whose job can never
// run because it waits, through the ordering, for the job of the very unit
// that called it is a deadlock on a real machine (systemctl never returns).
// The model detects it, records it (Manager.Deadlocks) and makes systemctl
// exit 1 with a message that names the cycle, so that a test fails instead
// of hanging.
//
// The model needs of its node only what Host gives: paths, running a
// program as a process of a unit, and the file systems a unit requires.
// The modelled daemons (mongod, antmedia) are Daemons: their start is the
// stand-in's, not a process.
package systemd
