package version

import (
	"runtime"
	"runtime/debug"
	"testing"

	. "github.com/onsi/gomega"
)

func TestResolve(t *testing.T) {
	vcs := func(settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/kubeship/kubeship", Version: "(devel)"}}
		for i := 0; i < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	cases := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{{
		name:    "stamped values win over the toolchain's",
		version: "v1.2.3", commit: "abc123", date: "2026-01-02T03:04:05Z",
		bi:   vcs("vcs.revision", "fff", "vcs.time", "2020-01-01T00:00:00Z", "vcs.modified", "true"),
		want: Info{Version: "v1.2.3", Commit: "abc123", Date: "2026-01-02T03:04:05Z"},
	}, {
		name: "unstamped: revision and time from the VCS stamp",
		bi:   vcs("vcs.revision", "0123456789abcdef", "vcs.time", "2026-11-30T10:00:00Z", "vcs.modified", "false"),
		want: Info{Version: "devel", Commit: "0123456789abcdef", Date: "2026-11-30T10:00:00Z"},
	}, {
		name: "unstamped build of an edited tree is marked dirty",
		bi:   vcs("vcs.revision", "0123456789abcdef", "vcs.modified", "true"),
		want: Info{Version: "devel", Commit: "0123456789abcdef-dirty", Date: Unknown},
	}, {
		name: "installed with go install: the module version",
		bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}},
		want: Info{Version: "v0.4.0", Commit: Unknown, Date: Unknown},
	}, {
		name: "no build information at all",
		want: Info{Version: "devel", Commit: Unknown, Date: Unknown},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.GoVersion = runtime.Version()
			c.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			NewWithT(t).Expect(resolve(c.version, c.commit, c.date, c.bi)).To(Equal(c.want))
		})
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "v1.2.3", Commit: "abc123", Date: "2026-01-02T03:04:05Z", GoVersion: "go1.26.8", Platform: "linux/arm64"}
	NewWithT(t).Expect(i.String()).To(Equal(
		"version: v1.2.3\ncommit: abc123\nbuilt: 2026-01-02T03:04:05Z\ngo: go1.26.8\nplatform: linux/arm64\n"))
}
