// Package amsargs says which command arguments Ant Media Server 3.0.2 and
// 3.0.3 refuse to pass to their configured admin scripts.
//
// Upstream: Ant-Media-Server, src/main/java/io/antmedia/console/AdminApplication.java,
// AdminApplication.runConfiguredCommand (commit 13906cf29, in tags ams-v3.0.2
// and ams-v3.0.3; open issue 7729). Before it runs create_app.sh,
// delete_app.sh or the SSL script it discards the whole command, logging
// "Discarding command because an argument includes special characters", when
// any argument satisfies
//
//	commandArgument.matches(".*[;&|<>()$`\\r\\n\\t*?{}\\[\\]\\\\\"'\\s].*")
//
// The cluster database URL is one of create_app.sh's arguments (-m URL), so a
// URL carrying such a character makes application creation fail on every node.
package amsargs

import "regexp"

// refused is the Java pattern ported to Go's regexp exactly.
//
// Java's String.matches anchors the whole input. Without DOTALL, Java's "."
// matches any character but the line terminators \n, \r, \u0085, \u2028 and
// \u2029 (java.util.regex.Pattern, "Line terminators"), while Go's "." only
// excludes \n; and Java's \s is [ \t\n\x0B\f\r] while Go's \s lacks \x0B.
// Both differences are spelled out here rather than left to the engines.
var refused = regexp.MustCompile(
	"\\A" + notLineTerminator + "*" +
		"[;&|<>()$`\\r\\n\\t*?{}\\[\\]\\\\\"' \\t\\n\\x0B\\f\\r]" +
		notLineTerminator + "*\\z")

const notLineTerminator = `[^\n\r\x{85}\x{2028}\x{2029}]`

// Refused reports whether Ant Media 3.0.2/3.0.3's runConfiguredCommand would
// discard a command that has arg among its arguments.
func Refused(arg string) bool {
	return refused.MatchString(arg)
}
