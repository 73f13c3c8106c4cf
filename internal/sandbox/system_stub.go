package sandbox

// STUB — owned by the lead; replaced by system.go.

func systemctl(e *Env, args []string) int     { return 0 }
func mountCmd(e *Env, args []string) int      { return 0 }
func umountCmd(e *Env, args []string) int     { return 0 }
func mountpointCmd(e *Env, args []string) int { return 0 }
func blkid(e *Env, args []string) int         { return 0 }
func mkfsXFS(e *Env, args []string) int       { return 0 }
func aptGet(e *Env, args []string) int        { return 0 }
func snapCmd(e *Env, args []string) int       { return 0 }
func gpgCmd(e *Env, args []string) int        { return 0 }
func lsbRelease(e *Env, args []string) int    { return 0 }
func chownCmd(e *Env, args []string) int      { return 0 }
func sleepCmd(e *Env, args []string) int      { return 0 }
func cloudInit(e *Env, args []string) int     { return 0 }
func markInstalled(e *Env, pkg string) error  { return nil }
func (e *Env) installed(cmd string) bool      { return true }
func stopAllServices(e *Env)                  {}
func unmountAll(e *Env) error                 { return nil }
func detachAll(e *Env)                        {}
func (n *Node) boot() error                   { return nil }
func (n *Node) settle()                       {}
