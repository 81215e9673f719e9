//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeship/kubeship/internal/naming"
	"github.com/kubeship/kubeship/internal/testdb"
)

const (
	// outageDatabaseTimeout is the manager's --database-timeout in the outage test.
	outageDatabaseTimeout = 5 * time.Second
	// serverRecheckHealthy mirrors controllers/databaseserver_controller.go: how often a
	// Ready DatabaseServer's login is checked again, so how stale its Ready may be.
	serverRecheckHealthy = 30 * time.Second
	// serverRecheckFailing is the same for a DatabaseServer that is not Ready.
	serverRecheckFailing = 20 * time.Second
	// outageSlack covers the API round trips and the work queue around those bounds.
	outageSlack = 10 * time.Second
)

// silentListener accepts connections on addr and never answers: a server that hangs.
type silentListener struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func listenSilently(t *testing.T, addr string) *silentListener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s in the server's place: %v", addr, err)
	}
	s := &silentListener{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.close)
	return s
}

// close stops listening and drops every connection it held; it returns how many it took.
func (s *silentListener) close() {
	_ = s.l.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

func (s *silentListener) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// timeToReady applies one Microservice and returns how long it took to become Ready.
func timeToReady(t *testing.T, ns, name, database string, timeout time.Duration) time.Duration {
	t.Helper()
	doc := fmt.Sprintf("apiVersion: apps.kubeship.dev/v1alpha1\nkind: Microservice\nmetadata: {name: %s}\nspec:\n  image: ghcr.io/acme/%s:1.0\n", name, name)
	if database != "" {
		doc += "  database: " + database + "\n"
	}
	path := writeManifest(t, doc)
	start := time.Now()
	mustKubectl(t, "apply", "-n", ns, "-f", path)
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout="+timeout.String(), "ms/"+name)
	return time.Since(start)
}

// secretState is a credentials Secret's data and resourceVersion.
func secretState(t *testing.T, ns, name string) string {
	t.Helper()
	return mustKubectl(t, "get", "-n", ns, "secret", name, "-o", "jsonpath={.metadata.resourceVersion} {.data}")
}

// TestDatabaseServerOutage stops the shared PostgreSQL mid-run, and then puts a
// listener that accepts and never answers in its place. Each time the DatabaseServer
// reports Unreachable within its recheck period plus the database timeout; services on
// another server (MariaDB) and services without a database keep converging at the speed
// measured before the outage; after the server returns everything converges, with each
// role once on the server, the same role (same OID), and the same Secrets.
func TestDatabaseServerOutage(t *testing.T) {
	ownManager(t, "database-outage", "--database-timeout="+outageDatabaseTimeout.String())
	dir := t.TempDir()
	addr, err := testdb.FreeAddress()
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	pg, err := testdb.KeepPostgres(dir, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testdb.StopKept(dir, true) })
	my := testdb.StartMySQL(t)
	adminNS, ns := newNamespace(t), newNamespace(t)
	pgServer, myServer := registerServer(t, adminNS, "postgres", pg), registerServer(t, adminNS, "mysql", my)
	onPG := func() string {
		return "{engine: postgres, mode: shared, serverRef: {name: " + pgServer + "}, deletionPolicy: Delete}"
	}
	onMy := "{engine: mysql, mode: shared, serverRef: {name: " + myServer + "}, deletionPolicy: Delete}"

	pgServices := []string{"pg-0", "pg-1", "pg-2"}
	for _, name := range pgServices {
		timeToReady(t, ns, name, onPG(), 120*time.Second)
	}
	baseline := map[string]time.Duration{
		"no database":     timeToReady(t, ns, "plain-before", "", 60*time.Second),
		"MariaDB, shared": timeToReady(t, ns, "my-before", onMy, 60*time.Second),
	}
	t.Logf("before the outage: %v", baseline)
	rolePrefix := strings.ReplaceAll(ns, "-", "_") + "_"
	secretsBefore, oidsBefore := map[string]string{}, map[string]sharedDatabase{}
	for _, name := range pgServices {
		secretsBefore[name] = secretState(t, ns, name+"-db")
		oidsBefore[name] = inspectShared(t, pg, naming.Role("postgres", ns, name), naming.Database("postgres", ns, name))
	}

	figures := make([]string, 0, 2)
	for round, outage := range []string{"stopped", "silent"} {
		// The outage: the server is stopped, and in the second round a listener that
		// never answers takes its port.
		if err := testdb.StopKept(dir, false); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		var silent *silentListener
		if outage == "silent" {
			silent = listenSilently(t, pg.Addr())
		}
		// A new service on the server cannot get its database now.
		newPG := fmt.Sprintf("pg-new-%d", round)
		mustKubectl(t, "apply", "-n", ns, "-f", writeManifest(t, fmt.Sprintf(
			"apiVersion: apps.kubeship.dev/v1alpha1\nkind: Microservice\nmetadata: {name: %s}\nspec:\n  image: ghcr.io/acme/app:1.0\n  database: %s\n", newPG, onPG())))
		// Measured while passes for the new service fail (or hang) on the server.
		during := map[string]time.Duration{
			"no database":     timeToReady(t, ns, fmt.Sprintf("plain-during-%d", round), "", 60*time.Second),
			"MariaDB, shared": timeToReady(t, ns, fmt.Sprintf("my-during-%d", round), onMy, 60*time.Second),
		}
		bound := serverRecheckHealthy + outageDatabaseTimeout + outageSlack
		waitFor(t, "", "databaseserver/"+pgServer, "Ready", "Unreachable", bound-time.Since(began))
		unreachable := time.Since(began)
		for kind, d := range during {
			// Normal speed: a few seconds at most beyond what it took before.
			if limit := 3*baseline[kind] + 5*time.Second; d > limit {
				t.Errorf("%s outage: a fresh service (%s) took %s to become Ready, %s before the outage (limit %s)",
					outage, kind, d.Round(time.Millisecond), baseline[kind].Round(time.Millisecond), limit)
			}
		}
		waitFor(t, ns, "ms/"+newPG, "Ready", "DatabaseNotReady", 30*time.Second)
		if silent != nil && silent.accepted() == 0 {
			t.Errorf("silent outage: nothing connected to the listener in the server's place")
		}

		// The server returns.
		if silent != nil {
			silent.close()
		}
		if _, err := testdb.KeepPostgres(dir, port); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		mustKubectl(t, "wait", "--for=condition=Ready", "--timeout="+(serverRecheckFailing+outageDatabaseTimeout+outageSlack).String(), "databaseserver/"+pgServer)
		mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--all", "ms", "--timeout=90s")
		recovered := time.Since(back)
		figures = append(figures, fmt.Sprintf("%s server: Unreachable after %s (bound %s); fresh services during the outage %v (before %v); all Ready %s after the server returned",
			outage, unreachable.Round(100*time.Millisecond), bound, roundAll(during), roundAll(baseline), recovered.Round(100*time.Millisecond)))
	}

	// Nothing was made twice, dropped and made again, or given a new password.
	want := make([]string, 0, len(pgServices)+2)
	for _, name := range append(pgServices, "pg-new-0", "pg-new-1") {
		want = append(want, naming.Role("postgres", ns, name))
	}
	slices.Sort(want)
	if got := rolesLike(t, pg, rolePrefix); !slices.Equal(got, want) {
		t.Errorf("roles on the server after the outages: %v, want each of %v once", got, want)
	}
	for _, name := range pgServices {
		if now := secretState(t, ns, name+"-db"); now != secretsBefore[name] {
			t.Errorf("Secret %s-db changed during the outages", name)
		}
		if now := inspectShared(t, pg, naming.Role("postgres", ns, name), naming.Database("postgres", ns, name)); now != oidsBefore[name] {
			t.Errorf("%s: role or database changed during the outages: %+v, was %+v", name, now, oidsBefore[name])
		}
	}
	for _, name := range append(pgServices, "pg-new-0", "pg-new-1") {
		if err := logInWith(credentials(t, ns, name+"-db"), pg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, f := range figures {
		t.Log(f)
	}
}

func roundAll(m map[string]time.Duration) map[string]string {
	out := map[string]string{}
	for k, d := range m {
		out[k] = d.Round(100 * time.Millisecond).String()
	}
	return out
}
