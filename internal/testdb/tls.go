package testdb

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// serverCerts is a throwaway CA and a server certificate it signed.
type serverCerts struct {
	caPEM, certPEM, keyPEM []byte
}

// newServerCerts makes a CA and a server certificate for 127.0.0.1, ::1 and localhost, valid
// for a day.
func newServerCerts() (serverCerts, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return serverCerts{}, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubeship testdb CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return serverCerts{}, fmt.Errorf("testdb: creating CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return serverCerts{}, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return serverCerts{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return serverCerts{}, fmt.Errorf("testdb: creating server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return serverCerts{}, err
	}
	return serverCerts{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// makeCerts gives s a fresh CA and server certificate: the CA in s.CACertPEM, the certificate
// and key in s.dir for the server to read.
func (s *Server) makeCerts(acct account) (certPath, keyPath string, err error) {
	certs, err := newServerCerts()
	if err != nil {
		return "", "", err
	}
	if certPath, keyPath, err = certs.write(acct, s.dir); err != nil {
		return "", "", err
	}
	s.CACertPEM = certs.caPEM
	return certPath, keyPath, nil
}

// write stores the server certificate and key as dir/server.crt and dir/server.key, owned by
// and private to the account (PostgreSQL refuses a key others can read).
func (c serverCerts) write(acct account, dir string) (certPath, keyPath string, err error) {
	certPath, keyPath = dir+"/server.crt", dir+"/server.key"
	if err := acct.writeFile(certPath, c.certPEM); err != nil {
		return "", "", err
	}
	if err := acct.writeFile(keyPath, c.keyPEM); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}
