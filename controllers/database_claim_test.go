package controllers

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
	"github.com/kubeship/kubeship/internal/dbadmin"
	"github.com/kubeship/kubeship/internal/naming"
	"github.com/kubeship/kubeship/internal/testdb"
)

// openAsAdmin connects to srv as its admin, with the engine's driver.
func openAsAdmin(g Gomega, srv *testdb.Server) *sql.DB {
	var db *sql.DB
	var err error
	if srv.Engine == dbadmin.EngineMySQL {
		db, err = sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s:%d)/?tls=skip-verify", srv.User, srv.Password, srv.Host, srv.Port))
	} else {
		db, err = sql.Open("pgx", naming.URI(naming.EnginePostgres, srv.User, srv.Password, srv.Host, srv.Port, "postgres"))
	}
	g.Expect(err).NotTo(HaveOccurred())
	return db
}

// legacyAccount makes, as the admin, what a kubeship from before ownership markers left
// for ms: its role (user) with password and its database, no markers, and the credentials
// Secret labelled for ms holding secretPassword. It returns the Secret's credentials.
func legacyAccount(g Gomega, ctx context.Context, srv *testdb.Server, server *v1alpha1.DatabaseServer, ms *v1alpha1.Microservice, password, secretPassword string) *resources.Credentials {
	admin := openAsAdmin(g, srv)
	defer admin.Close()
	creds := sharedCredentials(ms, server, secretPassword)
	create := []string{
		`CREATE ROLE "` + creds.Username + `" LOGIN PASSWORD '` + password + `'`,
		`CREATE DATABASE "` + creds.Database + `" OWNER "` + creds.Username + `"`,
	}
	if srv.Engine == dbadmin.EngineMySQL {
		create = []string{
			"CREATE USER '" + creds.Username + "'@'%' IDENTIFIED BY '" + password + "'",
			"CREATE DATABASE `" + creds.Database + "` CHARACTER SET utf8mb4",
			"GRANT ALL PRIVILEGES ON `" + creds.Database + "`.* TO '" + creds.Username + "'@'%'",
		}
	}
	for _, q := range create {
		_, err := admin.ExecContext(ctx, q)
		g.Expect(err).NotTo(HaveOccurred(), q)
	}
	g.Expect(k8s.Create(ctx, resources.CredentialsSecret(ms, creds))).To(Succeed())
	return &creds
}

// serverMarkers reads the ownership markers of the role and database on srv.
func serverMarkers(g Gomega, ctx context.Context, srv *testdb.Server, creds *resources.Credentials) (role, db string) {
	admin := openAsAdmin(g, srv)
	defer admin.Close()
	if srv.Engine == dbadmin.EngineMySQL {
		rows, err := admin.QueryContext(ctx, "SELECT kind, owner FROM kubeship.owners WHERE name IN (?, ?)", creds.Username, creds.Database)
		if err != nil {
			return "", "" // no table yet: no markers
		}
		defer rows.Close()
		for rows.Next() {
			var kind, owner string
			g.Expect(rows.Scan(&kind, &owner)).To(Succeed())
			if kind == "user" {
				role = "kubeship:" + owner
			} else {
				db = "kubeship:" + owner
			}
		}
		g.Expect(rows.Err()).NotTo(HaveOccurred())
		return role, db
	}
	g.Expect(admin.QueryRowContext(ctx, `
		SELECT COALESCE(shobj_description((SELECT oid FROM pg_roles WHERE rolname = $1), 'pg_authid'), ''),
		       COALESCE(shobj_description((SELECT oid FROM pg_database WHERE datname = $2), 'pg_database'), '')`,
		creds.Username, creds.Database).Scan(&role, &db)).To(Succeed())
	return role, db
}

// Upgrade from a kubeship without markers: the Microservice whose credentials Secret holds
// the role's working password claims its unmarked role and database and becomes
// DatabaseReady=True, data and password kept; one whose Secret holds another password is
// refused with the unmarked-role message, and the role is left as it was.
func TestSharedClaimsUnmarkedRoleWithItsPassword(t *testing.T) {
	for engine, shared := range map[string]*testdb.Shared{"postgres": sharedPostgres, "mariadb": sharedMySQL} {
		t.Run(engine, func(t *testing.T) { claimUnmarkedRole(t, shared.Get(t)) })
	}
}

func claimUnmarkedRole(t *testing.T, srv *testdb.Server) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, srv, &metav1.LabelSelector{})
	ns := newNamespace(t)

	// The upgraded service: its Secret holds the password the role has.
	ms := sharedMicroservice(ns, "legacy", server, v1alpha1.DeletionDelete)
	creds := legacyAccount(g, ctx, srv, server, ms, "legacy-password", "legacy-password")
	before := openAsApp(g, resources.CredentialsSecret(ms, *creds))
	writeRow(g, ctx, before)
	before.Close()
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	secret := waitDatabaseReady(g, ctx, key)
	g.Expect(string(secret.Data["password"])).To(Equal("legacy-password"), "the Secret's data is never rewritten")
	expectRow(g, ctx, secret)
	cur := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, cur)).To(Succeed())
	role, db := serverMarkers(g, ctx, srv, creds)
	g.Expect(role).To(Equal("kubeship:"+string(cur.UID)), "role marker")
	g.Expect(db).To(Equal("kubeship:"+string(cur.UID)), "database marker")
	g.Expect(cur.Status.Database.Provisioned).NotTo(BeNil())
	g.Expect(controllerutil.ContainsFinalizer(cur, DatabaseFinalizer)).To(BeTrue())

	// A service whose Secret holds another password than its unmarked role's.
	stale := sharedMicroservice(ns, "stale", server, v1alpha1.DeletionDelete)
	staleCreds := legacyAccount(g, ctx, srv, server, stale, "their-password", "not-their-password")
	g.Expect(k8s.Create(ctx, stale)).To(Succeed())
	staleKey := client.ObjectKeyFromObject(stale)
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, staleKey, v1alpha1.ConditionDatabaseReady)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProvisioningFailed))
		g.Expect(c.Message).To(ContainSubstring("without kubeship's ownership marker"))
	}, timeout, interval).Should(Succeed())
	got := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, staleKey, got)).To(Succeed())
	g.Expect(got.Finalizers).To(BeEmpty())
	g.Expect(got.Status.Database.Provisioned).To(BeNil())
	expectNoRetry(g, ctx, staleKey)
	role, db = serverMarkers(g, ctx, srv, staleCreds)
	g.Expect(role).To(BeEmpty(), "no marker on the refused role")
	g.Expect(db).To(BeEmpty(), "no marker on the refused database")
	theirs := *staleCreds
	theirs.Password = "their-password"
	conn := openAsApp(g, resources.CredentialsSecret(stale, theirs))
	defer conn.Close()
	conn.SetMaxIdleConns(0) // every ping logs in anew
	g.Expect(conn.PingContext(ctx)).To(Succeed(), "the role's password is unchanged")

	g.Expect(k8s.Delete(ctx, stale)).To(Succeed())
	waitGone(g, ctx, staleKey)
	g.Expect(conn.PingContext(ctx)).To(Succeed(), "deleting the refused service drops nothing")
}
