// Package version holds the build identity of the manager: the version, commit and build
// date stamped at link time, with what the Go toolchain recorded as the fallback.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time by the Makefile and the Dockerfile:
//
//	-ldflags "-X github.com/kubeship/kubeship/internal/version.version=v1.2.3 ..."
//
// Left empty, Get falls back to the build information of the binary.
var (
	version string
	commit  string
	date    string
)

// Unknown is reported for a field that neither the linker nor the toolchain recorded.
const Unknown = "unknown"

// Info identifies one build of the manager.
type Info struct {
	Version   string
	Commit    string
	Date      string
	GoVersion string
	Platform  string
}

// Get returns the build identity of the running binary.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, date, bi)
}

// resolve prefers the stamped values and fills each empty one from bi (nil when the binary
// carries no build information): the main module's version, vcs.revision and vcs.time.
func resolve(stampedVersion, stampedCommit, stampedDate string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   stampedVersion,
		Commit:    stampedCommit,
		Date:      stampedDate,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		// A build from an edited tree is not the commit it names.
		if stampedCommit == "" && info.Commit != "" && modified {
			info.Commit += "-dirty"
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = Unknown
	}
	if info.Date == "" {
		info.Date = Unknown
	}
	return info
}

// String is what `manager --version` prints: one "key: value" line per field.
func (i Info) String() string {
	return fmt.Sprintf("version: %s\ncommit: %s\nbuilt: %s\ngo: %s\nplatform: %s\n",
		i.Version, i.Commit, i.Date, i.GoVersion, i.Platform)
}
