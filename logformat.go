package main

import (
	"flag"
	"os"

	uberzap "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// stderrIsTerminal tells whether the manager's stderr is a terminal (not a pipe or a file).
func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }

// humanLogs reports whether the manager should write logs for a person reading a terminal
// (console encoding) rather than for a log pipeline (JSON): only when stderr is a terminal
// and neither --zap-encoder nor --zap-devel chose the format explicitly.
func humanLogs(stderrIsTerminal bool, explicit map[string]bool) bool {
	return stderrIsTerminal && !explicit["zap-encoder"] && !explicit["zap-devel"]
}

// chooseLogFormat makes opts log for a terminal when humanLogs says so: console encoding
// with ISO 8601 times (unless --zap-time-encoding is given), at the production level.
// In a cluster stderr is a pipe, so the JSON default stays.
func chooseLogFormat(opts *zap.Options, fs *flag.FlagSet, stderrIsTerminal bool) {
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if !humanLogs(stderrIsTerminal, explicit) {
		return
	}
	opts.NewEncoder = func(options ...zap.EncoderConfigOption) zapcore.Encoder {
		cfg := uberzap.NewDevelopmentEncoderConfig()
		for _, o := range options {
			o(&cfg)
		}
		return zapcore.NewConsoleEncoder(cfg)
	}
	if !explicit["zap-time-encoding"] {
		opts.TimeEncoder = zapcore.ISO8601TimeEncoder
	}
}
