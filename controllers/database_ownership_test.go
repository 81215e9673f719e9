package controllers

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
	"github.com/kubeship/kubeship/internal/naming"
	"github.com/kubeship/kubeship/internal/testdb"
)

// writeRow makes a table with one row as the app's role.
func writeRow(g Gomega, ctx context.Context, app *sql.DB) {
	_, err := app.ExecContext(ctx, "CREATE TABLE orders (id int)")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = app.ExecContext(ctx, "INSERT INTO orders VALUES (7)")
	g.Expect(err).NotTo(HaveOccurred())
}

// expectRow logs in afresh with secret and reads the row writeRow wrote.
func expectRow(g Gomega, ctx context.Context, secret *corev1.Secret) {
	app := openAsApp(g, secret)
	defer app.Close()
	var id int
	g.Expect(app.QueryRowContext(ctx, "SELECT id FROM orders").Scan(&id)).To(Succeed(), "the data must still be there")
	g.Expect(id).To(Equal(7))
}

// eventNotes returns the notes of the Events with reason on Microservice name.
func eventNotes(g Gomega, ctx context.Context, ns, name, reason string) []string {
	list := &eventsv1.EventList{}
	g.Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "Microservice" && e.Regarding.Name == name && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

// expectNoRetry runs one pass of a reconciler of its own for key: a state only a person
// can fix is reported in status, and the pass returns no error, so the workqueue does not
// retry it with backoff forever. The suite's manager reconciles key at the same time,
// so a pass whose status write met that manager's write (a conflict, asked to run again
// at once) is run again; any other result is final.
func expectNoRetry(g Gomega, ctx context.Context, key client.ObjectKey) {
	r := &MicroserviceReconciler{Client: mgrClient, APIReader: k8s, Admins: serverConnector{
		gate: secretGate{reader: k8s, namespace: testOptions.OperatorNamespace}, connect: dbadmin.Connect, timeout: testOptions.withDefaults().DatabaseTimeout,
	}}
	conflict := reconcile.Result{RequeueAfter: conflictRetryFirst}
	for range 10 {
		res, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: key})
		g.Expect(err).NotTo(HaveOccurred())
		if res != conflict {
			g.Expect(res).To(Equal(reconcile.Result{}))
			return
		}
	}
	g.Expect(conflict).To(Equal(reconcile.Result{}), "10 passes in a row met a conflict writing status")
}

func waitGone(g Gomega, ctx context.Context, key client.ObjectKey) {
	g.Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, key, &v1alpha1.Microservice{})) }, 2*timeout, interval).Should(BeTrue())
}

// The adversarial case of issue 9: team-a/api and team/a-api map to one database name.
// The younger one is refused; under deletionPolicy Delete it must not get the finalizer,
// and deleting it must leave the older one's database and data alone.
func TestDeletingRefusedCollidingServiceKeepsWinnersData(t *testing.T) {
	for engine, shared := range map[string]*testdb.Shared{"postgres": sharedPostgres, "mariadb": sharedMySQL} {
		t.Run(engine, func(t *testing.T) { deleteRefusedCollidingService(t, shared.Get(t)) })
	}
}

func deleteRefusedCollidingService(t *testing.T, srv *testdb.Server) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, srv, &metav1.LabelSelector{})
	base := newNamespace(t)
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: base + "-a"}})).To(Succeed())
	winner := sharedMicroservice(base+"-a", "api", server, v1alpha1.DeletionDelete)
	g.Expect(k8s.Create(ctx, winner)).To(Succeed())
	secret := waitDatabaseReady(g, ctx, client.ObjectKeyFromObject(winner))
	app := openAsApp(g, secret)
	writeRow(g, ctx, app)
	app.Close()

	loser := sharedMicroservice(base, "a-api", server, v1alpha1.DeletionDelete)
	g.Expect(naming.Database(string(server.Spec.Engine), loser.Namespace, loser.Name)).To(Equal(naming.Database(string(server.Spec.Engine), winner.Namespace, winner.Name)))
	g.Expect(k8s.Create(ctx, loser)).To(Succeed())
	loserKey := client.ObjectKeyFromObject(loser)
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, loserKey, v1alpha1.ConditionDatabaseReady)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProvisioningFailed))
		g.Expect(c.Message).To(ContainSubstring("already belongs to Microservice " + base + "-a/api"))
	}, timeout, interval).Should(Succeed())
	got := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, loserKey, got)).To(Succeed())
	g.Expect(controllerutil.ContainsFinalizer(got, DatabaseFinalizer)).To(BeFalse(), "a refused service must not hold the finalizer")
	expectNoRetry(g, ctx, loserKey)

	g.Expect(k8s.Delete(ctx, loser)).To(Succeed())
	waitGone(g, ctx, loserKey)
	expectRow(g, ctx, secret)
	w := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(winner), w)).To(Succeed())
	g.Expect(w.Status.Database.Provisioned).To(Equal(&v1alpha1.ProvisionedDatabase{
		Server: server.Name, ServerUID: string(server.UID), Database: naming.Database(string(server.Spec.Engine), winner.Namespace, winner.Name), Role: string(secret.Data["username"]),
	}))
}

// Removing spec.database is an edit in Git; it must never drop data, even under Delete.
func TestRemovingSharedDatabaseKeepsEverything(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedPostgres.Get(t), &metav1.LabelSelector{})
	ns := newNamespace(t)
	ms := sharedMicroservice(ns, "ledger", server, v1alpha1.DeletionDelete)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	secret := waitDatabaseReady(g, ctx, key)
	g.Expect(metav1.IsControlledBy(secret, ms)).To(BeTrue(), "under Delete the Secret starts out owned")
	app := openAsApp(g, secret)
	writeRow(g, ctx, app)
	app.Close()

	g.Eventually(func() error {
		cur := &v1alpha1.Microservice{}
		if err := k8s.Get(ctx, key, cur); err != nil {
			return err
		}
		cur.Spec.Database = nil
		return k8s.Update(ctx, cur)
	}, timeout, interval).Should(Succeed())

	db, role := string(secret.Data["database"]), string(secret.Data["username"])
	want := "spec.database was removed; kept database " + db + " and role " + role + " on DatabaseServer " + server.Name + ", Secret ledger-db."
	g.Eventually(func(g Gomega) {
		cur := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, cur)).To(Succeed())
		g.Expect(cur.Finalizers).To(BeEmpty())
		g.Expect(cur.Status.Database).To(BeNil())
		notes := eventNotes(g, ctx, ns, "ledger", EventDatabaseKept)
		g.Expect(notes).To(HaveLen(1))
		g.Expect(notes[0]).To(HavePrefix(want))
	}, timeout, interval).Should(Succeed())
	kept := &corev1.Secret{}
	g.Expect(k8s.Get(ctx, dbKey(key), kept)).To(Succeed())
	g.Expect(kept.OwnerReferences).To(BeEmpty(), "deleting the Microservice later must not collect the kept Secret")
	g.Expect(kept.Data).To(Equal(secret.Data))

	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	waitGone(g, ctx, key)
	expectRow(g, ctx, kept)
}

// A DatabaseServer deleted and made again under the same name is another server (its UID
// differs): the finalizer of a service provisioned on the first one drops nothing on it.
func TestFinalizerKeepsDatabaseOnRecreatedServer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedPostgres.Get(t), &metav1.LabelSelector{})
	ns := newNamespace(t)
	ms := sharedMicroservice(ns, "archive", server, v1alpha1.DeletionDelete)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	secret := waitDatabaseReady(g, ctx, key)
	app := openAsApp(g, secret)
	writeRow(g, ctx, app)
	app.Close()

	g.Expect(k8s.Delete(ctx, server)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: server.Name}, &v1alpha1.DatabaseServer{}))
	}, timeout, interval).Should(BeTrue())
	// Same name, same endpoint and admin, but it admits no namespace: the service cannot
	// provision there again, and its record still names the first server's UID.
	again := &v1alpha1.DatabaseServer{ObjectMeta: metav1.ObjectMeta{Name: server.Name}, Spec: server.Spec}
	again.Spec.AllowedNamespaces = nil
	g.Expect(k8s.Create(ctx, again)).To(Succeed())
	g.Expect(again.UID).NotTo(Equal(server.UID))
	g.Eventually(func(g Gomega) {
		g.Expect(msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady).Reason).To(Equal(v1alpha1.ReasonNamespaceNotAllowed))
	}, timeout, interval).Should(Succeed())

	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	waitGone(g, ctx, key)
	expectRow(g, ctx, secret)
	g.Eventually(func(g Gomega) {
		notes := eventNotes(g, ctx, ns, "archive", EventDatabaseKept)
		g.Expect(notes).To(ContainElement(ContainSubstring("is not the server database " + string(secret.Data["database"]) + " was created on")))
	}, timeout, interval).Should(Succeed())
}

// A role that exists on the server without kubeship's marker (an older kubeship, or a
// person, made it) is never given a new password and never dropped.
func TestSharedRefusesUnmarkedRole(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := sharedPostgres.Get(t)
	server := newDatabaseServer(t, g, srv, &metav1.LabelSelector{})
	ns := newNamespace(t)
	db, role := naming.SQLIdentifier(ns, "legacy"), naming.Role(dbadmin.EnginePostgres, ns, "legacy")
	admin, err := sql.Open("pgx", naming.URI(dbadmin.EnginePostgres, srv.User, srv.Password, srv.Host, srv.Port, "postgres"))
	g.Expect(err).NotTo(HaveOccurred())
	defer admin.Close()
	_, err = admin.ExecContext(ctx, `CREATE ROLE "`+role+`" LOGIN PASSWORD 'their-password'`)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = admin.ExecContext(ctx, `CREATE DATABASE "`+db+`" OWNER "`+role+`"`)
	g.Expect(err).NotTo(HaveOccurred())

	ms := sharedMicroservice(ns, "legacy", server, v1alpha1.DeletionDelete)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProvisioningFailed))
		g.Expect(c.Message).To(ContainSubstring("without kubeship's ownership marker"))
	}, timeout, interval).Should(Succeed())
	cur := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, cur)).To(Succeed())
	g.Expect(cur.Finalizers).To(BeEmpty())
	g.Expect(cur.Status.Database.Provisioned).To(BeNil())
	expectNoRetry(g, ctx, key)
	theirs := &corev1.Secret{Data: map[string][]byte{"uri": []byte(naming.URI(dbadmin.EnginePostgres, role, "their-password", srv.Host, srv.Port, db))}}
	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	waitGone(g, ctx, key)
	conn := openAsApp(g, theirs)
	defer conn.Close()
	g.Expect(conn.PingContext(ctx)).To(Succeed(), "their password is unchanged and the database is still there")
	g.Expect(strings.Contains(string(theirs.Data["uri"]), db)).To(BeTrue())
}
