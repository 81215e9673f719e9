package controllers

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// passwordAlphabet has no characters that need escaping in a URI, a shell or SQL.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// passwordLength gives about 238 bits of entropy.
const passwordLength = 40

// generatePassword returns a random password from a cryptographic source.
func generatePassword() (string, error) {
	b := make([]byte, passwordLength)
	limit := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return "", fmt.Errorf("generating password: %w", err)
		}
		b[i] = passwordAlphabet[n.Int64()]
	}
	return string(b), nil
}
