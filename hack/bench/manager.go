package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// managerProcess is the kubeship manager as the bench runs it: a separate process, so
// its CPU and memory are its own, with plain-HTTP metrics and pprof on loopback.
type managerProcess struct {
	binary  string
	env     []string
	logPath string
	flags   []string

	cmd     *exec.Cmd
	exited  chan error
	metrics string
	pprof   string
}

func (m *managerProcess) start(ctx context.Context) error {
	var err error
	probes := ""
	for _, addr := range []*string{&m.metrics, &m.pprof, &probes} {
		if *addr, err = freeAddress(); err != nil {
			return err
		}
	}
	log, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{
		"--metrics-bind-address=" + m.metrics, "--metrics-secure=false",
		"--health-probe-bind-address=" + probes, "--pprof-bind-address=" + m.pprof,
		"--operator-namespace=" + operatorNS,
	}, m.flags...)
	m.cmd = exec.Command(m.binary, args...)
	m.cmd.Env = m.env
	m.cmd.Stdout, m.cmd.Stderr = log, log
	// An interrupted bench takes its manager with it.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		return err
	}
	m.exited = make(chan error, 1)
	go func() { m.exited <- m.cmd.Wait(); _ = log.Close() }()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-m.exited:
			return fmt.Errorf("manager exited: %v (log %s)", err, m.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		// Ready, and its metrics served: the probe's listener can come up before the
		// metrics server's, and the bench scrapes at once.
		if answers("http://"+probes+"/readyz") && answers("http://"+m.metrics+"/metrics") {
			return nil
		}
	}
	return fmt.Errorf("manager not ready after a minute (log %s)", m.logPath)
}

// answers tells whether url answers 200 OK.
func answers(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends the manager as a pod's termination would (SIGTERM) and waits for it.
func (m *managerProcess) stop() error {
	if m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-m.exited:
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		err = fmt.Errorf("manager did not stop within 30s of SIGTERM (log %s): %v", m.logPath, <-m.exited)
	}
	m.cmd = nil
	return err
}

// scrape reads the manager's metrics.
func (m *managerProcess) scrape() (samples, error) {
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (samples, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(r)
}

// gc makes the manager collect garbage (a heap profile with gc=1), so the heap figure
// that follows is what is live, not what the collector has not reached yet. The profile
// is kept in path, for `go tool pprof`.
func (m *managerProcess) gc(path string) error {
	resp, err := http.Get("http://" + m.pprof + "/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	_, err = io.Copy(f, resp.Body)
	return err
}

// rssMiB is the manager's resident memory.
func (m *managerProcess) rssMiB() (float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", m.cmd.Process.Pid)
}

// samples are parsed metric families by name.
type samples map[string]*dto.MetricFamily

// sum adds up the values of family whose labels include every pair in match.
func (s samples) sum(family string, match map[string]string) float64 {
	f, ok := s[family]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		if !labelsMatch(m, match) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}

// by adds up the values of family per value of label, among series matching match.
func (s samples) by(family, label string, match map[string]string) map[string]float64 {
	out := map[string]float64{}
	f, ok := s[family]
	if !ok {
		return out
	}
	for _, m := range f.GetMetric() {
		if !labelsMatch(m, match) {
			continue
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// labelsOf is m's labels by name.
func labelsOf(m *dto.Metric) map[string]string {
	l := make(map[string]string, len(m.GetLabel()))
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func labelsMatch(m *dto.Metric, match map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := match[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(match)
}

func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
