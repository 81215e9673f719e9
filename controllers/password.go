package controllers

import "crypto/rand"

// generatePassword returns a new random password: two crypto/rand.Text strings, 52
// characters of base32 (A-Z, 2-7) with 260 bits of entropy, none of which needs escaping
// in a URI, a shell or SQL.
func generatePassword() string {
	return rand.Text() + rand.Text()
}
