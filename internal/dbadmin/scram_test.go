package dbadmin

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// TestScramVerifierRFC7677 checks the verifier against the SCRAM-SHA-256 exchange in RFC 7677
// section 3: the server signature it sent must come from our ServerKey, and the client proof
// must open to a ClientKey whose hash is our StoredKey.
func TestScramVerifierRFC7677(t *testing.T) {
	t.Parallel()
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := scramVerifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	// SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '$' || r == ':' })
	if len(parts) != 5 || parts[0] != "SCRAM-SHA-256" || parts[1] != "4096" || parts[2] != "W22ZaJ0SNY7soEsUEjb6gQ==" {
		t.Fatalf("verifier %q", v)
	}
	storedKey, _ := base64.StdEncoding.DecodeString(parts[3])
	serverKey, _ := base64.StdEncoding.DecodeString(parts[4])

	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	mac := func(key []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(authMessage))
		return m.Sum(nil)
	}
	if got := base64.StdEncoding.EncodeToString(mac(serverKey)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("server signature %s does not match RFC 7677", got)
	}
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	clientSig := mac(storedKey)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	if sum := sha256.Sum256(clientKey); !bytes.Equal(sum[:], storedKey) {
		t.Error("client proof does not open to our StoredKey")
	}
}

func TestPgPassword(t *testing.T) {
	t.Parallel()
	lit, secrets, err := pgPassword("ascii-password'")
	if err != nil || !strings.HasPrefix(lit, " 'SCRAM-SHA-256$4096:") || strings.Contains(lit, "ascii-password") || len(secrets) != 2 {
		t.Errorf("ASCII password: %q, %d secrets, %v", lit, len(secrets), err)
	}
	// Non-ASCII goes as a literal, for the server to SASLprep.
	if lit, _, err := pgPassword("pässwort"); err != nil || lit != " 'pässwort'" {
		t.Errorf("non-ASCII password: %q, %v", lit, err)
	}
	a, _, _ := pgPassword("same")
	b, _, _ := pgPassword("same")
	if a == b {
		t.Error("two verifiers share a salt")
	}
}
