package system

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// TestSystemTLS runs the pipeline against a NATS server that requires TLS
// with a certificate from a CA made in the test: every process gets the CA
// through SYNCLINE_NATS_TLS_CA. Ingest, the CLI and the test client
// authenticate with user/password, the writer and the reconciler with nkey
// seed files. A plaintext client is refused; no password or seed reaches
// a log.
func TestSystemTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, serverCert := makeTLS(t, dir)
	writerKey, writerSeed := nkeyFile(t, dir, "writer.nk")
	reconKey, reconSeed := nkeyFile(t, dir, "reconciler.nk")
	const ingestPass, appPass = "ingest-tls-secret", "app-tls-secret"
	srv := startNATS(t, func(o *server.Options) {
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
		o.TLS = true
		o.TLSTimeout = 10 // seconds: the machine may be loaded
		o.Users = []*server.User{{Username: "ingest", Password: ingestPass}, {Username: "app", Password: appPass}}
		o.Nkeys = []*server.NkeyUser{{Nkey: writerKey}, {Nkey: reconKey}}
	})
	tlsEnv := "SYNCLINE_NATS_TLS_CA=" + caFile
	user := func(u, p string) []string {
		return []string{tlsEnv, "SYNCLINE_NATS_USER=" + u, "SYNCLINE_NATS_PASSWORD=" + p}
	}
	c := newCluster(t, clusterOpts{
		ingests: 1, writers: 1, reconcilers: 1,
		nats: srv,
		env: map[string][]string{
			roleIngest:     user("ingest", ingestPass),
			roleCLI:        user("app", appPass),
			roleWriter:     {tlsEnv, "SYNCLINE_NATS_NKEY=" + filepath.Join(dir, "writer.nk")},
			roleReconciler: {tlsEnv, "SYNCLINE_NATS_NKEY=" + filepath.Join(dir, "reconciler.nk")},
		},
		clientOpts: []nats.Option{nats.RootCAs(caFile), nats.UserInfo("app", appPass)},
		secrets:    []string{ingestPass, appPass, writerSeed, reconSeed},
	})
	c.start()
	if c.nc.TLSRequired() == false {
		t.Errorf("the test client is not on TLS")
	}
	if nc, err := nats.Connect("nats://"+srv.URL()[len("tls://"):], nats.UserInfo("app", appPass), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Errorf("a plaintext client was let in")
	}
	sz := scale()
	l := newLedger()
	g := startLoad(c, l, 4, sz.rate/2)
	waitAcks(t, l, sz.rate)
	last := g.finish(60 * time.Second)
	c.converge(t, l, "tls-userpass-nkey", last)
}

// TestSystemCreds runs the pipeline against a server in operator (JWT)
// mode: every process and the CLI authenticate with a .creds file.
func TestSystemCreds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	account := func(js bool) (nkeys.KeyPair, string, string) {
		kp, _ := nkeys.CreateAccount()
		pub, _ := kp.PublicKey()
		ac := jwt.NewAccountClaims(pub)
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		token, err := ac.Encode(okp)
		if err != nil {
			t.Fatal(err)
		}
		return kp, pub, token
	}
	_, sysPub, sysJWT := account(false)
	akp, apub, aJWT := account(true)
	resolver := &server.MemAccResolver{}
	if err := resolver.Store(sysPub, sysJWT); err != nil {
		t.Fatal(err)
	}
	if err := resolver.Store(apub, aJWT); err != nil {
		t.Fatal(err)
	}
	var seeds []string
	creds := func(name string) string {
		ukp, _ := nkeys.CreateUser()
		upub, _ := ukp.PublicKey()
		seed, _ := ukp.Seed()
		uc := jwt.NewUserClaims(upub)
		uc.Name = name
		token, err := uc.Encode(akp)
		if err != nil {
			t.Fatal(err)
		}
		b, err := jwt.FormatUserConfig(token, seed)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".creds")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(seed))
		return path
	}
	srv := startNATS(t, func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{oc}
		o.SystemAccount = sysPub
		o.AccountResolver = resolver
	})
	env := func(name string) []string { return []string{"SYNCLINE_NATS_CREDS=" + creds(name)} }
	c := newCluster(t, clusterOpts{
		ingests: 1, writers: 1, reconcilers: 1,
		nats: srv,
		env: map[string][]string{
			roleIngest: env("ingest"), roleWriter: env("writer"), roleReconciler: env("reconciler"), roleCLI: env("cli"),
		},
		clientOpts: []nats.Option{nats.UserCredentials(creds("client"))},
		secrets:    nil,
	})
	c.o.secrets = append(c.o.secrets, seeds...)
	if nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Errorf("a client without credentials was let in")
	}
	c.start()
	sz := scale()
	l := newLedger()
	g := startLoad(c, l, 4, sz.rate/2)
	waitAcks(t, l, sz.rate)
	last := g.finish(60 * time.Second)
	c.converge(t, l, "creds", last)
}

// makeTLS writes a fresh CA certificate to dir and returns its path and a
// server certificate for 127.0.0.1 signed by it.
func makeTLS(t testing.TB, dir string) (caFile string, cert tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "syncline system test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey, Leaf: nil}
}

// nkeyFile writes a fresh user nkey seed to dir/name and returns the public
// key and the seed.
func nkeyFile(t testing.TB, dir, name string) (pub, seed string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := kp.Seed()
	p, _ := kp.PublicKey()
	if err := os.WriteFile(filepath.Join(dir, name), s, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, string(s)
}
