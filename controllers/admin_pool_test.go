package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
	"github.com/kubeship/kubeship/internal/testdb"
)

// pooledConnector is a serverConnector with a pool, counting its logins to the real server.
func pooledConnector(idle time.Duration) (serverConnector, *atomic.Int32) {
	logins := &atomic.Int32{}
	return serverConnector{
		gate: secretGate{reader: k8s, namespace: testOptions.OperatorNamespace},
		connect: func(ctx context.Context, cfg dbadmin.Config) (dbadmin.Admin, error) {
			logins.Add(1)
			return dbadmin.Connect(ctx, cfg)
		},
		timeout: testOptions.withDefaults().DatabaseTimeout,
		pool:    newAdminPool(idle),
	}, logins
}

// ensure provisions database name on server through c, as a pass does.
func ensure(ctx context.Context, c serverConnector, server *v1alpha1.DatabaseServer, name string) error {
	admin, err := c.open(ctx, server)
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	return admin.EnsureDatabase(ctx, name, name, "pw-"+name, "00000000-0000-0000-0000-0000000000"+name[len(name)-2:])
}

// Services provisioned one after another, and two at once, on one server share one
// admin login; the session closes once no pass has used it for the idle time.
func TestAdminSessionIsSharedBetweenPasses(t *testing.T) {
	for engine, shared := range map[string]*testdb.Shared{"postgres": sharedPostgres, "mariadb": sharedMySQL} {
		t.Run(engine, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			server := newDatabaseServer(t, g, shared.Get(t), &metav1.LabelSelector{})
			c, logins := pooledConnector(time.Second)
			prefix := fmt.Sprintf("pool%d", time.Now().UnixNano()%100000)
			for i := range 3 {
				g.Expect(ensure(ctx, c, server, fmt.Sprintf("%s_%02d", prefix, i))).To(Succeed())
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range 2 {
				wg.Go(func() { errs[i] = ensure(ctx, c, server, fmt.Sprintf("%s_%02d", prefix, 10+i)) })
			}
			wg.Wait()
			g.Expect(errs).To(HaveEach(Succeed()))
			g.Expect(logins.Load()).To(BeEquivalentTo(1), "admin logins for 5 provisionings")
			g.Expect(c.pool.open()).To(Equal(1))
			g.Eventually(c.pool.open, 10*time.Second, interval).Should(Equal(0), "the idle session is closed")

			// A rotated admin Secret is another login: the session made with the old one
			// is not used for it.
			g.Expect(ensure(ctx, c, server, prefix+"_20")).To(Succeed())
			g.Expect(logins.Load()).To(BeEquivalentTo(2))
			secret := &corev1.Secret{}
			ref := server.Spec.AdminSecretRef
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret)).To(Succeed())
			secret.Data["password"] = []byte("not-the-password")
			g.Expect(k8s.Update(ctx, secret)).To(Succeed())
			err := ensure(ctx, c, server, prefix+"_21")
			g.Expect(dbadmin.IsAuthError(err)).To(BeTrue(), "%v", err)
			g.Expect(logins.Load()).To(BeEquivalentTo(3))
		})
	}
}

// A session whose server stops answering is dropped: the next pass logs in afresh
// instead of being handed a session that only fails.
func TestAdminSessionOfAnUnreachableServerIsDropped(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := testdb.StartPostgres(t)
	server := newDatabaseServer(t, g, srv, &metav1.LabelSelector{})
	c, logins := pooledConnector(time.Minute)
	g.Expect(ensure(ctx, c, server, "gone_01")).To(Succeed())
	g.Expect(c.pool.open()).To(Equal(1))

	g.Expect(srv.Stop()).To(Succeed())
	err := ensure(ctx, c, server, "gone_02")
	g.Expect(dbadmin.IsUnreachable(err)).To(BeTrue(), "%v", err)
	g.Expect(c.pool.open()).To(Equal(0))
	g.Expect(ensure(ctx, c, server, "gone_03")).NotTo(Succeed())
	g.Expect(logins.Load()).To(BeEquivalentTo(2), "a fresh login after the session was dropped")
}

// countingReader counts the Secrets read through it.
type countingReader struct {
	client.Reader
	gets atomic.Int32
}

func (r *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	r.gets.Add(1)
	return r.Reader.Get(ctx, key, obj, opts...)
}

// A pass that finds every connection slot to its server taken fails at once, before it
// reads the admin Secret: a fleet waiting for a busy server retries without a GET each.
func TestBusyServerCostsNoSecretRead(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	server := newDatabaseServer(t, g, sharedPostgres.Get(t), &metav1.LabelSelector{})
	reader := &countingReader{Reader: k8s}
	c, _ := pooledConnector(time.Minute)
	c.gate.reader = reader
	c.slots = newServerSlots(1)
	held, err := c.open(ctx, server)
	g.Expect(err).NotTo(HaveOccurred())
	read := reader.gets.Load()
	g.Expect(read).To(BeNumerically(">", 0))
	_, err = c.open(ctx, server)
	var busy *serverBusyError
	g.Expect(errors.As(err, &busy)).To(BeTrue(), "%v", err)
	g.Expect(reader.gets.Load()).To(Equal(read), "Secret reads by a pass that found the server busy")
	g.Expect(held.Close()).To(Succeed())
	again, err := c.open(ctx, server)
	g.Expect(err).NotTo(HaveOccurred(), "the slot is given back")
	g.Expect(again.Close()).To(Succeed())
}
