package controllers

import (
	"strings"
	"testing"
)

// base32Alphabet is what crypto/rand.Text draws from.
const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := generatePassword()
		if len(p) < 32 {
			t.Fatalf("password %q has %d characters, want at least 32", p, len(p))
		}
		if i := strings.IndexFunc(p, func(r rune) bool { return !strings.ContainsRune(base32Alphabet, r) }); i >= 0 {
			t.Fatalf("password %q has %q, which may need escaping", p, p[i])
		}
		if seen[p] {
			t.Fatalf("password %q generated twice", p)
		}
		seen[p] = true
	}
}
