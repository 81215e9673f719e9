package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuProcesses are the processes whose CPU time each side of a round is charged with,
// by their command name as /proc shows it (cut to 15 characters): the control plane,
// KWOK's controller that plays the nodes and pods, the local PostgreSQL (its server and
// every session), the manager, and the bench itself (its writers and watches).
var cpuProcesses = []string{
	"kube-apiserver", "etcd", "kube-controller", "kube-scheduler", "kwok-controller", "metrics-server", "postgres", "manager", "bench",
}

// processCPU is CPU seconds (user and system) by command name.
type processCPU = tally

// readProcessCPU sums the CPU time used so far by every running process named in
// cpuProcesses. A process that exits between two readings takes its time with it; the
// ones named here live through a side of a round.
func readProcessCPU() processCPU {
	out := processCPU{}
	want := map[string]bool{}
	for _, name := range cpuProcesses {
		want[name] = true
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		name, seconds, ok := parseStat(raw)
		if ok && want[name] {
			out[name] += seconds
		}
	}
	return out
}

// parseStat reads the command name and utime+stime in seconds from a /proc/PID/stat
// line: "PID (comm) state ppid ... utime stime ...", comm possibly holding spaces or
// parentheses, utime and stime the 14th and 15th fields.
func parseStat(raw []byte) (string, float64, bool) {
	open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	// After the comm: field 3 (state) onwards.
	fields := strings.Fields(string(raw[end+1:]))
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return "", 0, false
	}
	u, err1 := strconv.ParseUint(fields[utime], 10, 64)
	s, err2 := strconv.ParseUint(fields[stime], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return string(raw[open+1 : end]), float64(u+s) / clockTicks, true
}
