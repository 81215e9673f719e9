package controllers

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// stallProxy is a real TCP listener in front of a database server. It forwards until
// stall is set; then it accepts connections and never answers, like a hung server.
type stallProxy struct {
	l       net.Listener
	target  string
	stall   atomic.Bool
	stalled atomic.Int32 // connections accepted while stalling
	mu      sync.Mutex
	conns   []net.Conn
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{l: l, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) port() int32 { return int32(p.l.Addr().(*net.TCPAddr).Port) }

func (p *stallProxy) keep(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

func (p *stallProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.keep(c)
		if p.stall.Load() {
			p.stalled.Add(1)
			continue // hold it open, never read or write
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.keep(up)
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

func (p *stallProxy) close() {
	_ = p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// A DatabaseServer that accepts connections and never answers, with eight services
// waiting on it, must not hold up an unrelated Microservice: it converges in well under
// the database timeout.
func TestStalledDatabaseServerDoesNotStallTheFleet(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := sharedPostgres.Get(t)
	proxy := newStallProxy(t, srv.Addr())
	name := fmt.Sprintf("stall-%d", nsCounter.Add(1))
	g.Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testOptions.OperatorNamespace, Name: name},
		Data: map[string][]byte{"username": []byte(srv.User), "password": []byte(srv.Password)}})).To(Succeed())
	server := createServer(g, ctx, name, srv, v1alpha1.SecretReference{Namespace: testOptions.OperatorNamespace, Name: name}, func(s *v1alpha1.DatabaseServerSpec) {
		s.Port, s.SSLMode = proxy.port(), v1alpha1.SSLDisable
	})
	t.Cleanup(func() { _ = k8s.Delete(ctx, server) })
	waitServerReady(g, ctx, server.Name, metav1.ConditionTrue, v1alpha1.ReasonConnected)

	baseline := convergeTime(g, ctx, newMicroservice(newNamespace(t), "baseline"))

	// The server hangs; its status still says Ready until the next recheck, so services
	// go on trying it.
	proxy.stall.Store(true)
	slowNS := newNamespace(t)
	slow := make([]*v1alpha1.Microservice, 0, 8)
	for i := range cap(slow) {
		ms := sharedMicroservice(slowNS, "slow-"+strconv.Itoa(i), server, v1alpha1.DeletionRetain)
		g.Expect(k8s.Create(ctx, ms)).To(Succeed())
		slow = append(slow, ms)
	}
	t.Cleanup(func() {
		for _, ms := range slow {
			_ = k8s.Delete(ctx, ms)
		}
	})
	g.Eventually(proxy.stalled.Load, timeout, interval).Should(BeNumerically(">=", 2), "workers are waiting on the hung server")

	elapsed := convergeTime(g, ctx, newMicroservice(newNamespace(t), "unrelated"))
	t.Logf("unrelated Microservice converged (Deployment and status) %v after creation, with %d connections hung on the stalled server; %v before the stall",
		elapsed, proxy.stalled.Load(), baseline)
	g.Expect(elapsed).To(BeNumerically("<", 3*time.Second), "the database timeout is %v", DefaultDatabaseTimeout)

	// The hung calls end at the deadline, with a message that names the cause, not the
	// driver's text.
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, client.ObjectKeyFromObject(slow[0]), v1alpha1.ConditionDatabaseReady)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProvisioningFailed), c.Message)
		g.Expect(c.Message).To(HaveSuffix(": no answer in time"))
		g.Expect(c.Message).NotTo(ContainSubstring(strconv.Itoa(int(proxy.port()))))
	}, 2*timeout, interval).Should(Succeed())
}

// convergeTime creates ms and returns how long kubeship took to make its Deployment and
// write its status.
func convergeTime(g Gomega, ctx context.Context, ms *v1alpha1.Microservice) time.Duration {
	start := time.Now()
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) {
		getDeployment(g, ctx, key)
		g.Expect(readyOf(g, ctx, key).ObservedGeneration).To(Equal(ms.Generation))
	}, timeout, 10*time.Millisecond).Should(Succeed())
	return time.Since(start)
}

// The Microservice controller's own status writes, and anyone else's, do not wake it;
// spec and label changes do.
func TestStatusWriteDoesNotWakeMicroservice(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "quiet")
	key := createAndWaitForDeployment(g, ctx, ms)
	markDeploymentRolledOut(t, ctx, key)
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, ctx, key).Status).To(Equal(metav1.ConditionTrue))
	}, timeout, interval).Should(Succeed())
	req := reconcile.Request{NamespacedName: key}
	count := func() int { return passes.of("microservice", req) }
	settled := func() int {
		var n int
		g.Eventually(func(g Gomega) {
			n = count()
			g.Consistently(count, time.Second, interval).Should(Equal(n))
		}, timeout, interval).Should(Succeed())
		return n
	}

	before := settled()
	got := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
	base := got.DeepCopy()
	got.Status.URL = "http://written-by-someone-else"
	g.Expect(k8s.Status().Patch(ctx, got, client.MergeFrom(base))).To(Succeed())
	g.Consistently(count, 2*time.Second, interval).Should(Equal(before), "a status-only write woke the controller")

	base = got.DeepCopy()
	got.Spec.Image = "ghcr.io/acme/quiet:2.0.0"
	g.Expect(k8s.Patch(ctx, got, client.MergeFrom(base))).To(Succeed())
	g.Eventually(count, timeout, interval).Should(BeNumerically(">", before), "a spec change must wake it")
	g.Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ctx, key).Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/acme/quiet:2.0.0"))
	}, timeout, interval).Should(Succeed())

	before = settled()
	g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
	base = got.DeepCopy()
	got.Labels = map[string]string{"team": "payments"}
	g.Expect(k8s.Patch(ctx, got, client.MergeFrom(base))).To(Succeed())
	g.Eventually(count, timeout, interval).Should(BeNumerically(">", before), "a label change must wake it")
}

// The DatabaseServer controller does not wake on its own status writes either.
func TestStatusWriteDoesNotWakeDatabaseServer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	server := createServer(g, ctx, "quiet-"+ns, sharedPostgres.Get(t), v1alpha1.SecretReference{Namespace: ns, Name: "absent"}, nil)
	waitServerReady(g, ctx, server.Name, metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound)
	req := reqFor(server.Name)
	count := func() int { return passes.of("databaseserver", req) }
	// Exactly one pass made the status; its write brought no second one (the next is the
	// recheck, 20 s later).
	g.Consistently(count, 3*time.Second, interval).Should(Equal(1))
}
