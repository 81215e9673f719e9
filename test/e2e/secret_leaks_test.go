//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeship/kubeship/internal/naming"
	"github.com/kubeship/kubeship/internal/testdb"
)

// hostilePassword is a password that every encoding changes (URL query and path
// escaping, URL userinfo, JSON, Go quoting), with a random part so that it appears
// nowhere by chance.
func hostilePassword(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return `Adm1n p@ss:/w%rd+&?#="q"\` + hex.EncodeToString(b) + `-ü`
}

// leakForms are the spellings of secret a careless log line, Event, status or metric
// label could carry it in.
func leakForms(secret string) map[string]string {
	userinfo := strings.TrimPrefix(url.UserPassword("u", secret).String(), "u:")
	js, _ := json.Marshal(secret)
	forms := map[string]string{
		"plain":            secret,
		"URL query-escape": url.QueryEscape(secret),
		"URL path-escape":  url.PathEscape(secret),
		"URL userinfo":     userinfo,
		"JSON":             strings.Trim(string(js), `"`),
		"Go-quoted":        strings.Trim(strconv.Quote(secret), `"`),
		"base64":           base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64url":        base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"hex":              hex.EncodeToString([]byte(secret)),
	}
	// A JSON log line holding a URL escapes it once more.
	for name, v := range map[string]string{"URL query-escape": forms["URL query-escape"], "URL userinfo": userinfo} {
		j, _ := json.Marshal(v)
		forms[name+" in JSON"] = strings.Trim(string(j), `"`)
	}
	return forms
}

// findLeaks reports each secret (named) found in a text (named), with the forms found.
func findLeaks(secrets, texts map[string]string) []string {
	var leaks []string
	for what, secret := range secrets {
		for where, text := range texts {
			var found []string
			for form, s := range leakForms(secret) {
				if strings.Contains(text, s) {
					found = append(found, form)
				}
			}
			if len(found) > 0 {
				slices.Sort(found)
				leaks = append(leaks, fmt.Sprintf("%s in %s, as %s", what, where, strings.Join(found, ", ")))
			}
		}
	}
	slices.Sort(leaks)
	return leaks
}

// leakServer registers srv as a DatabaseServer that logs in as user with password
// (which need not work) and allows every namespace; it does not wait.
func leakServer(t *testing.T, adminNS, name, engine, host string, port int, user, password string) {
	t.Helper()
	mustKubectl(t, "create", "secret", "generic", name, "-n", adminNS,
		"--from-literal=username="+user, "--from-literal=password="+password)
	mustKubectl(t, "label", "secret", name, "-n", adminNS, "apps.kubeship.dev/database-server-secret=true")
	mustKubectl(t, "apply", "--server-side", "-f", writeManifest(t, fmt.Sprintf(`apiVersion: apps.kubeship.dev/v1alpha1
kind: DatabaseServer
metadata: {name: %s}
spec:
  engine: %s
  host: %s
  port: %d
  adminSecretRef: {namespace: %s, name: %s}
  sslMode: require
  allowedNamespaces: {}
`, name, engine, host, port, adminNS, name)))
	t.Cleanup(func() { _, _ = kubectl("delete", "databaseserver", name, "--wait=false") })
}

// waitFor waits until object (in ns, or cluster-scoped when ns is "") has condition
// with reason.
func waitFor(t *testing.T, ns, object, condition, reason string, timeout time.Duration) {
	t.Helper()
	args := []string{"get", object, "-o", fmt.Sprintf(`jsonpath={.status.conditions[?(@.type=="%s")].reason}`, condition)}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	eventually(t, timeout, func() error {
		got, err := kubectl(args...)
		if err != nil {
			return err
		}
		if got != reason {
			return fmt.Errorf("%s %s reason %q, want %q", object, condition, got, reason)
		}
		return nil
	})
}

// TestNoSecretLeaks runs database work on a real PostgreSQL and MariaDB, successes and
// failures (a wrong admin password, a changed admin password, an unreachable server,
// names the server holds for someone else, deletion), with the manager logging at its
// most verbose, and then looks for every generated and admin password, in every
// encoding, in the manager's log, the Events, the status of every Microservice and
// DatabaseServer, and the metrics page.
func TestNoSecretLeaks(t *testing.T) {
	m := ownManager(t, "secret-leaks", "--zap-log-level=10", "--database-timeout=3s")
	pg, my := testdb.StartPostgres(t), testdb.StartMySQL(t)
	adminNS, ns := newNamespace(t), newNamespace(t)
	secrets := map[string]string{"PostgreSQL's own admin password": pg.Password, "MariaDB's own admin password": my.Password}
	admin := func(srv *testdb.Server, what string) (user, password string) {
		user, password = "leak_admin_"+what, hostilePassword(t)
		secrets[srv.Engine+" admin password ("+what+")"] = password
		if srv.Engine == testdb.EngineMySQL {
			execSQL(t, srv, "CREATE USER '"+user+"'@'%' IDENTIFIED BY "+literal(srv, password),
				"GRANT ALL PRIVILEGES ON *.* TO '"+user+"'@'%' WITH GRANT OPTION")
		} else {
			execSQL(t, srv, "CREATE ROLE "+user+" LOGIN SUPERUSER PASSWORD "+literal(srv, password))
		}
		return user, password
	}
	servers := make([]string, 0, 7)
	for _, srv := range []*testdb.Server{pg, my} {
		good := "leak-" + srv.Engine + "-" + ns
		user, password := admin(srv, "good")
		leakServer(t, adminNS, good, srv.Engine, srv.Host, srv.Port, user, password)
		// The admin password changes on the server after the DatabaseServer was Ready:
		// services provisioned then fail with the stale password from the Secret.
		rotated := "leak-rotated-" + srv.Engine + "-" + ns
		ruser, rpassword := admin(srv, "rotated")
		leakServer(t, adminNS, rotated, srv.Engine, srv.Host, srv.Port, ruser, rpassword)
		wrong := "leak-wrong-" + srv.Engine + "-" + ns
		secrets[srv.Engine+" wrong admin password"] = hostilePassword(t)
		leakServer(t, adminNS, wrong, srv.Engine, srv.Host, srv.Port, user, secrets[srv.Engine+" wrong admin password"])
		servers = append(servers, good, rotated, wrong)
		for _, s := range []string{good, rotated} {
			mustKubectl(t, "wait", "--for=condition=Ready", "--timeout=60s", "databaseserver/"+s)
		}
		newPassword := hostilePassword(t)
		secrets[srv.Engine+" admin password (rotated, new)"] = newPassword
		if srv.Engine == testdb.EngineMySQL {
			execSQL(t, srv, "ALTER USER '"+ruser+"'@'%' IDENTIFIED BY "+literal(srv, newPassword))
		} else {
			execSQL(t, srv, "ALTER ROLE "+ruser+" PASSWORD "+literal(srv, newPassword))
		}
		// A role and a database named as the service "taken" would name them, made by
		// someone else: kubeship tries its password on the role and refuses the names.
		role, db := naming.Role(srv.Engine, ns, "taken-"+srv.Engine), naming.Database(srv.Engine, ns, "taken-"+srv.Engine)
		squatter := hostilePassword(t)
		secrets[srv.Engine+" squatter's password"] = squatter
		if srv.Engine == testdb.EngineMySQL {
			execSQL(t, srv, "CREATE USER '"+role+"'@'%' IDENTIFIED BY "+literal(srv, squatter), "CREATE DATABASE `"+db+"`")
		} else {
			execSQL(t, srv, "CREATE ROLE "+role+" LOGIN PASSWORD "+literal(srv, squatter), "CREATE DATABASE "+db)
		}
	}
	down, err := testdb.FreeAddress()
	if err != nil {
		t.Fatal(err)
	}
	downPort, _ := strconv.Atoi(down[strings.LastIndexByte(down, ':')+1:])
	secrets["unreachable server's admin password"] = hostilePassword(t)
	leakServer(t, adminNS, "leak-down-"+ns, "postgres", "127.0.0.1", downPort, "nobody", secrets["unreachable server's admin password"])
	servers = append(servers, "leak-down-"+ns)
	provideVolumes(t, "leaks", 2)

	var docs []string
	service := func(name, database string) {
		docs = append(docs, fmt.Sprintf("apiVersion: apps.kubeship.dev/v1alpha1\nkind: Microservice\nmetadata: {name: %s}\nspec:\n  image: ghcr.io/acme/%s:1.0\n  database: %s\n", name, name, database))
	}
	shared := func(engine, server string) string {
		return fmt.Sprintf("{engine: %s, mode: shared, serverRef: {name: %s}, deletionPolicy: Delete}", engine, server)
	}
	for _, engine := range []string{"postgres", "mysql"} {
		service("ok-"+engine, shared(engine, "leak-"+engine+"-"+ns))
		service("rotated-"+engine, shared(engine, "leak-rotated-"+engine+"-"+ns))
		service("wrong-"+engine, shared(engine, "leak-wrong-"+engine+"-"+ns))
		service("taken-"+engine, shared(engine, "leak-"+engine+"-"+ns))
		service("dedicated-"+engine, "{engine: "+engine+", deletionPolicy: Delete}")
	}
	service("down", shared("postgres", "leak-down-"+ns))
	mustKubectl(t, "apply", "-n", ns, "-f", writeManifest(t, strings.Join(docs, "---\n")))

	for _, engine := range []string{"postgres", "mysql"} {
		mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/ok-"+engine, "ms/dedicated-"+engine)
		waitFor(t, ns, "ms/rotated-"+engine, "DatabaseReady", "ProvisioningFailed", 60*time.Second)
		waitFor(t, ns, "ms/taken-"+engine, "DatabaseReady", "ProvisioningFailed", 60*time.Second)
		waitFor(t, ns, "ms/wrong-"+engine, "DatabaseReady", "ServerNotReady", 60*time.Second)
		waitFor(t, "", "databaseserver/leak-wrong-"+engine+"-"+ns, "Ready", "AuthenticationFailed", 60*time.Second)
	}
	waitFor(t, "", "databaseserver/leak-down-"+ns, "Ready", "Unreachable", 60*time.Second)
	waitFor(t, ns, "ms/down", "DatabaseReady", "ServerNotReady", 60*time.Second)

	// Every password kubeship generated, read from its Secrets.
	generated := 0
	for _, name := range strings.Fields(mustKubectl(t, "get", "-n", ns, "secrets", "-l", "app.kubernetes.io/managed-by=kubeship", "-o", "name")) {
		creds := credentials(t, ns, strings.TrimPrefix(name, "secret/"))
		if p := creds["password"]; p != "" {
			secrets["generated password of "+name] = p
			generated++
		}
	}
	// ok, rotated, taken and dedicated, on each engine; "wrong" and "down" stop before
	// a Secret, their server being not Ready.
	if generated != 8 {
		t.Fatalf("found %d generated passwords in %s's Secrets, want 8", generated, ns)
	}

	texts := map[string]string{}
	texts["metrics while working"] = metricsPage(t, m)
	// Whole objects: their specs hold no secret either.
	texts["Microservices"] = mustKubectl(t, "get", "ms", "-A", "-o", "json")
	texts["DatabaseServers"] = mustKubectl(t, "get", "databaseservers", "-o", "json")
	texts["Deployments and StatefulSets"] = mustKubectl(t, "get", "deploy,sts", "-n", ns, "-o", "json")

	// Deletion drops the shared databases (and fails on the servers that refuse).
	mustKubectl(t, "delete", "-n", ns, "ms", "ok-postgres", "ok-mysql", "dedicated-postgres", "dedicated-mysql", "--timeout=60s")
	for _, s := range servers {
		_, _ = kubectl("delete", "databaseserver", s, "--wait=false")
	}
	mustKubectl(t, "delete", "-n", ns, "ms", "--all", "--timeout=60s")

	texts["metrics after deletion"] = metricsPage(t, m)
	texts["Events"] = mustKubectl(t, "get", "events", "-A", "-o", "json")
	log, err := os.ReadFile(m.logPath)
	if err != nil {
		t.Fatal(err)
	}
	texts["manager log"] = string(log)
	if len(log) == 0 || !strings.Contains(texts["manager log"], `"DatabaseServer login failed"`) {
		t.Fatalf("the manager log %s does not show the failed logins it should hold", m.logPath)
	}
	for _, leak := range findLeaks(secrets, texts) {
		t.Errorf("leaked: %s", leak)
	}
	t.Logf("searched %d secrets in %d forms each through %d texts (%d bytes of manager log, %d bytes of Events)",
		len(secrets), len(leakForms("x")), len(texts), len(log), len(texts["Events"]))
}

func metricsPage(t *testing.T, m *managerProcess) string {
	t.Helper()
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(page)
}
