package controllers

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/testdb"
)

// uniqueSuperuser makes a superuser login on srv whose name no other test uses, so the
// Connector log can tell whether kubeship ever connected with it.
func uniqueSuperuser(g Gomega, srv *testdb.Server, name string) (user, password string) {
	db, err := sql.Open("pgx", fmt.Sprintf("postgresql://%s:%s@%s/postgres?sslmode=disable", srv.User, srv.Password, srv.Addr()))
	g.Expect(err).NotTo(HaveOccurred())
	defer db.Close()
	user, password = strings.ReplaceAll(name, "-", "_"), "pw"+strings.ReplaceAll(name, "-", "")
	_, err = db.Exec(fmt.Sprintf("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'", user, password))
	g.Expect(err).NotTo(HaveOccurred())
	return user, password
}

func createServer(g Gomega, ctx context.Context, name string, srv *testdb.Server, admin v1alpha1.SecretReference, mutate func(*v1alpha1.DatabaseServerSpec)) *v1alpha1.DatabaseServer {
	server := &v1alpha1.DatabaseServer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.DatabaseServerSpec{Engine: v1alpha1.EnginePostgres, Host: srv.Host, Port: int32(srv.Port),
			AdminSecretRef: admin, SSLMode: v1alpha1.SSLRequire, AllowedNamespaces: &metav1.LabelSelector{}},
	}
	if mutate != nil {
		mutate(&server.Spec)
	}
	g.Expect(k8s.Create(ctx, server)).To(Succeed())
	return server
}

func waitServerReady(g Gomega, ctx context.Context, name string, status metav1.ConditionStatus, reason string) *metav1.Condition {
	var got *metav1.Condition
	g.Eventually(func(g Gomega) {
		got = serverReady(g, ctx, name)
		g.Expect(got.Status).To(Equal(status), got.Message)
		g.Expect(got.Reason).To(Equal(reason), got.Message)
	}, timeout, interval).Should(Succeed())
	return got
}

// touch changes an annotation, which wakes the DatabaseServer controller at once instead
// of at its next recheck.
func touch(g Gomega, ctx context.Context, name string) {
	s := &v1alpha1.DatabaseServer{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, s)).To(Succeed())
	base := s.DeepCopy()
	s.SetAnnotations(map[string]string{"test/touched": time.Now().Format(time.RFC3339Nano)})
	g.Expect(k8s.Patch(ctx, s, client.MergeFrom(base))).To(Succeed())
}

// A DatabaseServer naming a Secret in another namespace without the label must not make
// kubeship read it, although it holds working superuser credentials (the confused deputy).
func TestAdminSecretOutsideOperatorNamespaceIsNotRead(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := sharedPostgres.Get(t)
	ns := newNamespace(t)
	user, password := uniqueSuperuser(g, srv, "victim_"+ns)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "someone-elses"},
		Data: map[string][]byte{"username": []byte(user), "password": []byte(password)}}
	g.Expect(k8s.Create(ctx, secret)).To(Succeed())

	server := createServer(g, ctx, "deputy-"+ns, srv, v1alpha1.SecretReference{Namespace: ns, Name: secret.Name}, nil)
	c := waitServerReady(g, ctx, server.Name, metav1.ConditionFalse, v1alpha1.ReasonSecretNotAllowed)
	g.Expect(c.Message).To(ContainSubstring("spec.adminSecretRef"))
	g.Expect(c.Message).To(ContainSubstring(ns + "/someone-elses"))
	g.Expect(c.Message).To(ContainSubstring(v1alpha1.AdminSecretLabel))
	// A second pass (woken on purpose) does not read it either.
	touch(g, ctx, server.Name)
	g.Eventually(func(g Gomega) {
		g.Expect(passes.of("databaseserver", reqFor(server.Name))).To(BeNumerically(">=", 2))
	}, timeout, interval).Should(Succeed())
	g.Expect(connects.count(user)).To(BeZero(), "kubeship connected with a Secret it may not read")

	// A Microservice on that server sees it not Ready and gets nothing.
	ms := sharedMicroservice(newNamespace(t), "app", server, v1alpha1.DeletionRetain)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(msCondition(g, ctx, client.ObjectKeyFromObject(ms), v1alpha1.ConditionDatabaseReady).Reason).To(Equal(v1alpha1.ReasonServerNotReady))
	}, timeout, interval).Should(Succeed())

	// The Secret's owner labels it for kubeship: now it is used.
	base := secret.DeepCopy()
	secret.Labels = allowedSecret
	g.Expect(k8s.Patch(ctx, secret, client.MergeFrom(base))).To(Succeed())
	touch(g, ctx, server.Name)
	waitServerReady(g, ctx, server.Name, metav1.ConditionTrue, v1alpha1.ReasonConnected)
	g.Expect(connects.count(user)).To(BeNumerically(">", 0))
}

func TestAdminSecretInOperatorNamespaceIsRead(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := sharedPostgres.Get(t)
	name := fmt.Sprintf("admin-%d", nsCounter.Add(1))
	g.Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testOptions.OperatorNamespace, Name: name},
		Data: map[string][]byte{"username": []byte(srv.User), "password": []byte(srv.Password)}})).To(Succeed())
	server := createServer(g, ctx, "opns-"+name, srv, v1alpha1.SecretReference{Namespace: testOptions.OperatorNamespace, Name: name}, nil)
	waitServerReady(g, ctx, server.Name, metav1.ConditionTrue, v1alpha1.ReasonConnected)
}

// verify-full against the test server, whose certificate a throwaway CA signed.
func TestCASecretRefVerifyFull(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := sharedPostgres.Get(t)
	ns := newNamespace(t)
	admin := v1alpha1.SecretReference{Namespace: ns, Name: "admin"}
	g.Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "admin", Labels: allowedSecret},
		Data: map[string][]byte{"username": []byte(srv.User), "password": []byte(srv.Password)}})).To(Succeed())
	for name, data := range map[string][]byte{"ca": srv.CACertPEM, "bad-ca": []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")} {
		g.Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: allowedSecret},
			Data: map[string][]byte{"ca.crt": data}})).To(Succeed())
	}
	g.Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unlabelled-ca"},
		Data: map[string][]byte{"ca.crt": srv.CACertPEM}})).To(Succeed())
	verifyFull := func(ca string) func(*v1alpha1.DatabaseServerSpec) {
		return func(s *v1alpha1.DatabaseServerSpec) {
			s.SSLMode = v1alpha1.SSLVerifyFull
			if ca != "" {
				s.CASecretRef = &v1alpha1.SecretReference{Namespace: ns, Name: ca}
			}
		}
	}

	withCA := createServer(g, ctx, "ca-"+ns, srv, admin, verifyFull("ca"))
	waitServerReady(g, ctx, withCA.Name, metav1.ConditionTrue, v1alpha1.ReasonConnected)

	withoutCA := createServer(g, ctx, "noca-"+ns, srv, admin, verifyFull(""))
	c := waitServerReady(g, ctx, withoutCA.Name, metav1.ConditionFalse, v1alpha1.ReasonUnreachable)
	g.Expect(c.Message).To(Equal(fmt.Sprintf("Cannot reach %s:%d: its TLS certificate is not trusted (check spec.sslMode and spec.caSecretRef)", srv.Host, srv.Port)))

	badCA := createServer(g, ctx, "badca-"+ns, srv, admin, verifyFull("bad-ca"))
	c = waitServerReady(g, ctx, badCA.Name, metav1.ConditionFalse, v1alpha1.ReasonInvalidSecret)
	g.Expect(c.Message).To(ContainSubstring("spec.caSecretRef"))

	unlabelled := createServer(g, ctx, "unlca-"+ns, srv, admin, verifyFull("unlabelled-ca"))
	c = waitServerReady(g, ctx, unlabelled.Name, metav1.ConditionFalse, v1alpha1.ReasonSecretNotAllowed)
	g.Expect(c.Message).To(ContainSubstring("spec.caSecretRef"))
}
