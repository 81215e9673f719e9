package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func TestHumanLogs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		terminal bool
		explicit []string
		want     bool
	}{
		{"terminal", true, nil, true},
		{"terminal, unrelated flags", true, []string{"zap-log-level", "leader-elect"}, true},
		{"terminal, --zap-encoder", true, []string{"zap-encoder"}, false},
		{"terminal, --zap-devel", true, []string{"zap-devel"}, false},
		{"pipe", false, nil, false},
		{"pipe, unrelated flags", false, []string{"zap-log-level"}, false},
	} {
		explicit := map[string]bool{}
		for _, f := range tc.explicit {
			explicit[f] = true
		}
		if got := humanLogs(tc.terminal, explicit); got != tc.want {
			t.Errorf("%s: humanLogs = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestChooseLogFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		terminal bool
		args     []string
		wantJSON bool
	}{
		{"pipe, as in a pod", false, nil, true},
		{"terminal", true, nil, false},
		{"terminal, --zap-encoder=json", true, []string{"--zap-encoder=json"}, true},
		{"pipe, --zap-encoder=console", false, []string{"--zap-encoder=console"}, false},
	} {
		fs := flag.NewFlagSet("manager", flag.ContinueOnError)
		opts := zap.Options{}
		opts.BindFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		chooseLogFormat(&opts, fs, tc.terminal)
		var out bytes.Buffer
		opts.DestWriter = &out
		zap.New(zap.UseFlagOptions(&opts)).Info("hello", "k", "v")
		line := strings.TrimSpace(out.String())
		var fields map[string]any
		isJSON := json.Unmarshal([]byte(line), &fields) == nil
		if isJSON != tc.wantJSON {
			t.Errorf("%s: JSON = %v, want %v: %s", tc.name, isJSON, tc.wantJSON, line)
		}
		// Console lines read "<time>\tINFO\thello\t{...}".
		if !tc.wantJSON && !strings.Contains(line, "\tINFO\thello\t") {
			t.Errorf("%s: not a console line: %q", tc.name, line)
		}
	}
}
