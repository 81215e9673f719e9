package controllers

import (
	"errors"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestTerminalIfOnlyAPersonCanFix(t *testing.T) {
	notAllowed := fmt.Errorf("creating database: %w", &adminSecretError{v1alpha1.ReasonSecretNotAllowed, "spec.adminSecretRef: ..."})
	transient := errors.New("applying Deployment: connection reset")
	cases := []struct {
		name     string
		err      error
		terminal bool
	}{
		{"none", nil, false},
		{"secret not allowed", notAllowed, true},
		{"joined with a nil apply error", errors.Join(notAllowed, nil), true},
		{"joined with a transient apply error", errors.Join(notAllowed, transient), false},
		{"transient only", transient, false},
		{"server busy", &serverBusyError{server: "pg"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := terminalIfOnlyAPersonCanFix(tc.err)
			g.Expect(errors.Is(got, reconcile.TerminalError(nil))).To(Equal(tc.terminal))
			if tc.err != nil {
				g.Expect(errors.Is(got, tc.err)).To(BeTrue(), "the cause is kept")
			}
		})
	}
}
