package dbadmin

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// pgPassword returns what goes after PASSWORD in CREATE/ALTER ROLE, and the secrets that must
// not appear in errors.
//
// A printable-ASCII password is sent as a SCRAM-SHA-256 verifier computed here, as psql's
// \password does: the server stores it as is, and the clear password never reaches the server,
// so it cannot end up in its logs (log_statement=ddl, a failed statement's log line, or
// pg_stat_statements). Other passwords are sent as quoted literals: the server's SASLprep
// normalisation of non-ASCII text is not reproduced here, and a verifier made without it would
// not match what clients such as libpq compute.
func pgPassword(password string) (literal string, secrets []string, err error) {
	secrets = append(make([]string, 0, 2), password)
	if !printableASCII(password) {
		literal, err = quoteLiteral(password)
		return literal, secrets, err
	}
	verifier, err := scramVerifier(password, nil, scramIterations)
	if err != nil {
		return "", secrets, err
	}
	literal, err = quoteLiteral(verifier)
	return literal, append(secrets, verifier), err
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// scramVerifier computes PostgreSQL's SCRAM-SHA-256 password verifier (RFC 5802, RFC 7677):
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. A nil salt means 16 random bytes.
func scramVerifier(password string, salt []byte, iterations int) (string, error) {
	if salt == nil {
		salt = make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return "", err
		}
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
