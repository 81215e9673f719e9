package main

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A comm with a space and a parenthesis, as the kernel writes it; utime 250, stime 50.
	line := []byte("4242 (kube (odd) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 0 0\n")
	name, seconds, ok := parseStat(line)
	if !ok || name != "kube (odd) x" || seconds != 3.0 {
		t.Fatalf("parseStat = %q, %v, %v; want \"kube (odd) x\", 3, true", name, seconds, ok)
	}
	for _, bad := range []string{"", "12 no-parens S 1", "12 (short) S 1 2 3"} {
		if _, _, ok := parseStat([]byte(bad)); ok {
			t.Errorf("parseStat(%q) accepted a malformed line", bad)
		}
	}
}

func TestReadProcessCPUSeesThisProcess(t *testing.T) {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatalf("the bench reads CPU from /proc, which this system lacks: %v", err)
	}
	name, _, ok := parseStat(raw)
	if !ok {
		t.Fatalf("parseStat cannot read this process's own stat line %q", raw)
	}
	saved := cpuProcesses
	cpuProcesses = []string{name}
	defer func() { cpuProcesses = saved }()
	// Burn a little CPU so the reading cannot be zero even on a coarse clock.
	before := readProcessCPU()
	x := 0
	for i := range 300_000_000 {
		x += i % 7
	}
	_ = x
	used := readProcessCPU().since(before)
	if used[name] <= 0 {
		t.Fatalf("readProcessCPU saw no CPU used by %q (this test) while it ran a busy loop: %v", name, used)
	}
}

func TestProcessCPUSinceAndTotal(t *testing.T) {
	before := processCPU{"etcd": 1, "kube-apiserver": 2}
	now := processCPU{"etcd": 4, "kube-apiserver": 2, "manager": 1.5}
	got := now.since(before)
	want := processCPU{"etcd": 3, "manager": 1.5}
	if len(got) != len(want) || got["etcd"] != 3 || got["manager"] != 1.5 {
		t.Fatalf("since = %v, want %v", got, want)
	}
	if got.total() != 4.5 {
		t.Fatalf("total = %v, want 4.5", got.total())
	}
}
