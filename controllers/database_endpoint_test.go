package controllers

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
	"github.com/kubeship/kubeship/internal/naming"
)

// forward listens on addr and relays every connection to target: the database server
// as seen at a new host and port, as after a move.
func forward(t *testing.T, addr, target string) *net.TCPAddr {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return l.Addr().(*net.TCPAddr)
}

// A DatabaseServer that moves (new host and port) has its users' Secrets rewritten:
// host, port and uri only, never the password, database or username; and the pods that
// read DATABASE_URL roll.
func TestDatabaseServerMoveRewritesSecretAndRollsPods(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := sharedPostgres.Get(t)
	server := newDatabaseServer(t, g, srv, &metav1.LabelSelector{})
	ns := newNamespace(t)
	ms := sharedMicroservice(ns, "mover", server, v1alpha1.DeletionRetain)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	before := waitDatabaseReady(g, ctx, key)
	app := openAsApp(g, before)
	writeRow(g, ctx, app)
	app.Close()
	deploy := &appsv1.Deployment{}
	g.Expect(k8s.Get(ctx, key, deploy)).To(Succeed())
	g.Expect(deploy.Spec.Template.Annotations).NotTo(HaveKey(AnnotationDatabaseEndpoint), "a Secret that never moved rolls nothing")

	// 127.0.0.2 is loopback too: a new host and a new port for the same server.
	moved := forward(t, "127.0.0.2:0", net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port)))
	cur := &v1alpha1.DatabaseServer{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: server.Name}, cur)).To(Succeed())
	cur.Spec.Host, cur.Spec.Port = moved.IP.String(), int32(moved.Port)
	g.Expect(k8s.Update(ctx, cur)).To(Succeed())

	var after *corev1.Secret
	g.Eventually(func(g Gomega) {
		after = &corev1.Secret{}
		g.Expect(k8s.Get(ctx, dbKey(key), after)).To(Succeed())
		g.Expect(string(after.Data["host"])).To(Equal("127.0.0.2"))
		g.Expect(string(after.Data["port"])).To(Equal(strconv.Itoa(moved.Port)))
	}, timeout, interval).Should(Succeed())
	for _, k := range []string{"password", "database", "username"} {
		g.Expect(after.Data[k]).To(Equal(before.Data[k]), k)
	}
	g.Expect(string(after.Data["uri"])).To(Equal(naming.URI(dbadmin.EnginePostgres, string(before.Data["username"]), string(before.Data["password"]),
		"127.0.0.2", moved.Port, string(before.Data["database"]))))
	expectRow(g, ctx, after) // through the new endpoint, with the old password

	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, key, d)).To(Succeed())
		g.Expect(d.Spec.Template.Annotations).To(HaveKeyWithValue(AnnotationDatabaseEndpoint, after.Annotations[AnnotationDatabaseEndpoint]))
		g.Expect(d.Generation).To(BeNumerically(">", deploy.Generation), "a new pod template is a rollout")
		st := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, st)).To(Succeed())
		g.Expect(st.Status.Database.Host).To(Equal("127.0.0.2"))
	}, timeout, interval).Should(Succeed())
}
