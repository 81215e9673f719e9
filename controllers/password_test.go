package controllers

import (
	"strings"
	"testing"
)

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := generatePassword()
		if len(p) < 32 {
			t.Fatalf("password %q has %d characters, want at least 32", p, len(p))
		}
		if i := strings.IndexFunc(p, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') }); i >= 0 {
			t.Fatalf("password %q has %q, which may need escaping", p, p[i])
		}
		if seen[p] {
			t.Fatalf("password %q generated twice", p)
		}
		seen[p] = true
	}
}
