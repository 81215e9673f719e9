package controllers

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
	"github.com/kubeship/kubeship/internal/naming"
	"github.com/kubeship/kubeship/internal/testdb"
)

// Real servers for the shared-database tests, started on first use, stopped by TestMain.
var (
	sharedPostgres = testdb.NewShared(testdb.NewPostgres)
	sharedMySQL    = testdb.NewShared(testdb.NewMySQL)
)

// faults makes the manager's admin connections fail on purpose, as a crash or a lost
// connection would, keyed by database name.
var faults = struct {
	sync.Mutex
	before, after map[string]int // fail before running / after running EnsureDatabase
}{before: map[string]int{}, after: map[string]int{}}

func takeFault(m map[string]int, db string) bool {
	faults.Lock()
	defer faults.Unlock()
	if m[db] == 0 {
		return false
	}
	m[db]--
	return true
}

type faultyAdmin struct{ dbadmin.Admin }

func (a faultyAdmin) EnsureDatabase(ctx context.Context, db, role, password, owner string) error {
	if takeFault(faults.before, db) {
		return fmt.Errorf("injected failure before creating %s", db)
	}
	if err := a.Admin.EnsureDatabase(ctx, db, role, password, owner); err != nil {
		return err
	}
	if takeFault(faults.after, db) {
		return fmt.Errorf("injected failure after creating %s", db)
	}
	return nil
}

func faultyConnect(ctx context.Context, cfg dbadmin.Config) (dbadmin.Admin, error) {
	a, err := dbadmin.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return faultyAdmin{a}, nil
}

// newDatabaseServer registers srv as a DatabaseServer with its admin Secret and waits for Ready.
func newDatabaseServer(t *testing.T, g Gomega, srv *testdb.Server, allowed *metav1.LabelSelector) *v1alpha1.DatabaseServer {
	ctx := context.Background()
	ns := newNamespace(t)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "admin", Labels: allowedSecret},
		Data:       map[string][]byte{"username": []byte(srv.User), "password": []byte(srv.Password)},
	}
	g.Expect(k8s.Create(ctx, secret)).To(Succeed())
	server := &v1alpha1.DatabaseServer{
		ObjectMeta: metav1.ObjectMeta{Name: "srv-" + ns},
		Spec: v1alpha1.DatabaseServerSpec{
			Engine: v1alpha1.DatabaseEngine(srv.Engine), Host: srv.Host, Port: int32(srv.Port),
			AdminSecretRef: v1alpha1.SecretReference{Namespace: ns, Name: "admin"}, SSLMode: v1alpha1.SSLRequire,
			AllowedNamespaces: allowed,
		},
	}
	g.Expect(k8s.Create(ctx, server)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := serverReady(g, ctx, server.Name)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
	}, timeout, interval).Should(Succeed())
	return server
}

func serverReady(g Gomega, ctx context.Context, name string) *metav1.Condition {
	s := &v1alpha1.DatabaseServer{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, s)).To(Succeed())
	for i := range s.Status.Conditions {
		if s.Status.Conditions[i].Type == v1alpha1.ConditionReady {
			g.Expect(s.Status.Conditions[i].ObservedGeneration).To(Equal(s.Generation))
			return &s.Status.Conditions[i]
		}
	}
	g.Expect("no Ready condition").To(BeEmpty())
	return nil
}

func sharedMicroservice(ns, name string, server *v1alpha1.DatabaseServer, policy v1alpha1.DeletionPolicy) *v1alpha1.Microservice {
	ms := newMicroservice(ns, name)
	ms.Spec.Database = &v1alpha1.DatabaseSpec{
		Engine: server.Spec.Engine, Mode: v1alpha1.ModeShared,
		ServerRef: &v1alpha1.ServerReference{Name: server.Name}, DeletionPolicy: policy,
	}
	return ms
}

// openAsApp connects with the credentials Secret's keys, as the app would.
func openAsApp(g Gomega, secret *corev1.Secret) *sql.DB {
	d := func(k string) string { return string(secret.Data[k]) }
	var db *sql.DB
	var err error
	if port, _ := strconv.Atoi(d("port")); d("uri")[:5] == "mysql" {
		db, err = sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s:%d)/%s?tls=skip-verify", d("username"), d("password"), d("host"), port, d("database")))
	} else {
		db, err = sql.Open("pgx", d("uri"))
	}
	g.Expect(err).NotTo(HaveOccurred())
	return db
}

func waitDatabaseReady(g Gomega, ctx context.Context, key client.ObjectKey) *corev1.Secret {
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
	}, 2*timeout, interval).Should(Succeed())
	secret := &corev1.Secret{}
	g.Expect(k8s.Get(ctx, dbKey(key), secret)).To(Succeed())
	return secret
}

func TestSharedPostgresLifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedPostgres.Get(t), &metav1.LabelSelector{})
	ns := newNamespace(t)
	ms := sharedMicroservice(ns, "payments", server, v1alpha1.DeletionDelete)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)

	secret := waitDatabaseReady(g, ctx, key)
	g.Expect(string(secret.Data["database"])).To(Equal(naming.SQLIdentifier(ns, "payments")))
	g.Expect(string(secret.Data["host"])).To(Equal(server.Spec.Host))
	app := openAsApp(g, secret)
	defer app.Close()
	_, err := app.ExecContext(ctx, "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)")
	g.Expect(err).NotTo(HaveOccurred())
	got := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
	g.Expect(controllerutil.ContainsFinalizer(got, DatabaseFinalizer)).To(BeTrue())
	g.Expect(got.Status.Database.Name).To(Equal(naming.SQLIdentifier(ns, "payments")))

	// Another service's role cannot reach this database.
	other := sharedMicroservice(ns, "intruder", server, v1alpha1.DeletionDelete)
	g.Expect(k8s.Create(ctx, other)).To(Succeed())
	otherSecret := waitDatabaseReady(g, ctx, client.ObjectKeyFromObject(other))
	otherSecret.Data["database"] = secret.Data["database"]
	otherSecret.Data["uri"] = []byte(fmt.Sprintf("postgresql://%s:%s@%s:%s/%s", otherSecret.Data["username"], otherSecret.Data["password"], otherSecret.Data["host"], otherSecret.Data["port"], secret.Data["database"]))
	intruder := openAsApp(g, otherSecret)
	defer intruder.Close()
	g.Expect(intruder.PingContext(ctx)).NotTo(Succeed())

	// Delete: the finalizer drops the database and the role, then lets go.
	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	g.Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, key, &v1alpha1.Microservice{})) }, 2*timeout, interval).Should(BeTrue())
	app.Close()
	again := openAsApp(g, secret)
	defer again.Close()
	g.Expect(again.PingContext(ctx)).NotTo(Succeed(), "the role and database must be gone")
}

func TestSharedMySQLRetainKeepsData(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedMySQL.Get(t), &metav1.LabelSelector{})
	ms := sharedMicroservice(newNamespace(t), "inventory", server, v1alpha1.DeletionRetain)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	secret := waitDatabaseReady(g, ctx, key)
	g.Expect(len(secret.Data["username"])).To(BeNumerically("<=", 32))
	app := openAsApp(g, secret)
	defer app.Close()
	_, err := app.ExecContext(ctx, "CREATE TABLE items (id int)")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = app.ExecContext(ctx, "INSERT INTO items VALUES (42)")
	g.Expect(err).NotTo(HaveOccurred())

	got := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
	g.Expect(got.Finalizers).To(BeEmpty(), "Retain needs no finalizer")
	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	g.Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, key, &v1alpha1.Microservice{})) }, timeout, interval).Should(BeTrue())

	var id int
	g.Expect(app.QueryRowContext(ctx, "SELECT id FROM items").Scan(&id)).To(Succeed())
	g.Expect(id).To(Equal(42))
	g.Expect(k8s.Get(ctx, dbKey(key), secret)).To(Succeed(), "the Secret is retained with the data")
}

func TestSharedNamespaceNotAllowed(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedPostgres.Get(t), &metav1.LabelSelector{MatchLabels: map[string]string{"db-access": "granted"}})
	ns := newNamespace(t)
	ms := sharedMicroservice(ns, "reports", server, v1alpha1.DeletionRetain)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonNamespaceNotAllowed))
		g.Expect(msCondition(g, ctx, key, v1alpha1.ConditionReady).Reason).To(Equal(v1alpha1.ReasonDatabaseFailed))
	}, timeout, interval).Should(Succeed())
	g.Expect(apierrors.IsNotFound(k8s.Get(ctx, dbKey(key), &corev1.Secret{}))).To(BeTrue(), "nothing is created for a refused namespace")

	// Labelling the namespace admits it; the namespace watch brings the pass.
	nsObj := &corev1.Namespace{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: ns}, nsObj)).To(Succeed())
	nsObj.Labels["db-access"] = "granted"
	g.Expect(k8s.Update(ctx, nsObj)).To(Succeed())
	waitDatabaseReady(g, ctx, key)
}

func TestSharedProvisioningConvergesAfterFailures(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedPostgres.Get(t), &metav1.LabelSelector{})
	ns := newNamespace(t)
	db := naming.SQLIdentifier(ns, "crashy")
	faults.Lock()
	faults.before[db], faults.after[db] = 2, 1
	faults.Unlock()
	ms := sharedMicroservice(ns, "crashy", server, v1alpha1.DeletionRetain)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	secret := waitDatabaseReady(g, ctx, key)
	faults.Lock()
	g.Expect(faults.before[db]+faults.after[db]).To(BeZero(), "every injected failure was hit")
	faults.Unlock()
	app := openAsApp(g, secret)
	defer app.Close()
	g.Expect(app.PingContext(ctx)).To(Succeed())

	// A deleted Secret means a new password: the role gets it, nothing else changes.
	g.Expect(k8s.Delete(ctx, secret)).To(Succeed())
	g.Eventually(func(g Gomega) {
		fresh := &corev1.Secret{}
		g.Expect(k8s.Get(ctx, dbKey(key), fresh)).To(Succeed())
		g.Expect(fresh.Data["password"]).NotTo(Equal(secret.Data["password"]))
		conn := openAsApp(g, fresh)
		defer conn.Close()
		g.Expect(conn.PingContext(ctx)).To(Succeed())
	}, timeout, time.Second).Should(Succeed())
}

func TestDatabaseServerReadyReasons(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := sharedPostgres.Get(t)
	ns := newNamespace(t)
	g.Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wrong", Labels: allowedSecret},
		Data: map[string][]byte{"username": []byte(srv.User), "password": []byte("not-the-password")}})).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "empty", Labels: allowedSecret},
		Data: map[string][]byte{"username": []byte(srv.User)}})).To(Succeed())
	cases := []struct {
		name, secret string
		port         int32
		want         string
	}{
		{"missing secret", "absent", int32(srv.Port), v1alpha1.ReasonSecretNotFound},
		{"secret without password", "empty", int32(srv.Port), v1alpha1.ReasonInvalidSecret},
		{"wrong password", "wrong", int32(srv.Port), v1alpha1.ReasonAuthenticationFailed},
		{"closed port", "wrong", 1, v1alpha1.ReasonUnreachable},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			server := &v1alpha1.DatabaseServer{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", ns, i)},
				Spec: v1alpha1.DatabaseServerSpec{Engine: v1alpha1.EnginePostgres, Host: srv.Host, Port: tc.port,
					AdminSecretRef: v1alpha1.SecretReference{Namespace: ns, Name: tc.secret}, SSLMode: v1alpha1.SSLDisable},
			}
			g.Expect(k8s.Create(ctx, server)).To(Succeed())
			g.Eventually(func(g Gomega) {
				c := serverReady(g, ctx, server.Name)
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(c.Reason).To(Equal(tc.want))
				g.Expect(c.Message).NotTo(ContainSubstring("not-the-password"))
			}, timeout, interval).Should(Succeed())
		})
	}
}

func TestSharedNameCollisionKeepsFirstOwner(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedPostgres.Get(t), &metav1.LabelSelector{})
	base := newNamespace(t)
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: base + "-a"}})).To(Succeed())
	// base-a/api and base/a-api both map to "<base>_a_api".
	first := sharedMicroservice(base+"-a", "api", server, v1alpha1.DeletionRetain)
	g.Expect(k8s.Create(ctx, first)).To(Succeed())
	waitDatabaseReady(g, ctx, client.ObjectKeyFromObject(first))
	second := sharedMicroservice(base, "a-api", server, v1alpha1.DeletionRetain)
	g.Expect(naming.SQLIdentifier(second.Namespace, second.Name)).To(Equal(naming.SQLIdentifier(first.Namespace, first.Name)))
	g.Expect(k8s.Create(ctx, second)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, client.ObjectKeyFromObject(second), v1alpha1.ConditionDatabaseReady)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProvisioningFailed))
		g.Expect(c.Message).To(ContainSubstring("already belongs to Microservice " + base + "-a/api"))
	}, timeout, interval).Should(Succeed())
	g.Expect(apierrors.IsNotFound(k8s.Get(ctx, dbKey(client.ObjectKeyFromObject(second)), &corev1.Secret{}))).To(BeTrue())
}

func TestSharedRefusesNamesEditedInTheSecret(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedPostgres.Get(t), &metav1.LabelSelector{})
	ns := newNamespace(t)
	victim := sharedMicroservice(ns, "victim", server, v1alpha1.DeletionRetain)
	g.Expect(k8s.Create(ctx, victim)).To(Succeed())
	victimSecret := waitDatabaseReady(g, ctx, client.ObjectKeyFromObject(victim))

	// Someone prepares the attacker's Secret naming the victim's database and role.
	attacker := sharedMicroservice(ns, "attacker", server, v1alpha1.DeletionRetain)
	forged := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "attacker-db", Labels: map[string]string{
			"app.kubernetes.io/managed-by": "kubeship", "apps.kubeship.dev/microservice": "attacker", "app.kubernetes.io/name": "attacker"}},
		Data: map[string][]byte{
			"host": victimSecret.Data["host"], "port": victimSecret.Data["port"],
			"database": victimSecret.Data["database"], "username": victimSecret.Data["username"],
			"password": []byte("attacker-chosen-password"), "uri": []byte("postgresql://x"),
		},
	}
	g.Expect(k8s.Create(ctx, forged)).To(Succeed())
	g.Expect(k8s.Create(ctx, attacker)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, client.ObjectKeyFromObject(attacker), v1alpha1.ConditionDatabaseReady)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProvisioningFailed))
		g.Expect(c.Message).To(ContainSubstring("instead of"))
		g.Expect(c.Message).NotTo(ContainSubstring("attacker-chosen-password"))
	}, timeout, interval).Should(Succeed())
	app := openAsApp(g, victimSecret)
	defer app.Close()
	g.Expect(app.PingContext(ctx)).To(Succeed(), "the victim's password still works")
}
