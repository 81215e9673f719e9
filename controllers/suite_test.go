package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/envtest/komega"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/testdb"
)

// The envtest suite runs the real kube-apiserver and etcd built by hack/controlplane.sh
// (KUBEBUILDER_ASSETS). envtest runs no built-in controllers: tests set Deployment
// status by hand and cannot observe garbage collection, only owner references.
var (
	k8s        client.Client // direct API client, for the tests' own reads and writes
	mgrClient  client.Client // the manager's cached client under kubeship's field owner, as the reconcilers have it
	testScheme = runtime.NewScheme()
	nsCounter  atomic.Int64
	// metricsAddr is where the manager serves metrics (plain HTTP in tests).
	metricsAddr string
	// restConfig reaches the envtest API server, for tests that build their own cache.
	restConfig *rest.Config
	// testOptions configure the test manager's controllers; passes counts their passes.
	// ReconcileTimeout differs from the default so a test can tell it reached the passes.
	testOptions = Options{OperatorNamespace: "kubeship-test-operator", ReconcileTimeout: 45 * time.Second, StatusCoalesce: DefaultProgressCoalesce, onReconcile: passes.add, ignore: drivenByTest}
)

func TestMain(m *testing.M) {
	utilruntime.Must(clientgoscheme.AddToScheme(testScheme))
	utilruntime.Must(v1alpha1.AddToScheme(testScheme))
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(false), zap.Level(zapLevel())))

	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds kube-apiserver and etcd")
		os.Exit(1)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	restConfig = cfg
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		os.Exit(1)
	}
	code := func() int {
		metricsAddr, err = testdb.FreeAddress()
		if err != nil {
			fmt.Fprintln(os.Stderr, "finding a free port:", err)
			return 1
		}
		k8s, err = client.New(cfg, client.Options{Scheme: testScheme})
		if err != nil {
			fmt.Fprintln(os.Stderr, "creating client:", err)
			return 1
		}
		komega.SetClient(k8s) // Eventually(komega.Object(obj)) reads through the direct client
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{
			Scheme:  testScheme,
			Metrics: metricsserver.Options{BindAddress: metricsAddr},
			Cache:   CacheOptions(),
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "creating manager:", err)
			return 1
		}
		if err := SetupWithManager(mgr, connects.wrap(faultyConnect), testOptions); err != nil {
			fmt.Fprintln(os.Stderr, "setting up controllers:", err)
			return 1
		}
		if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testOptions.OperatorNamespace}}); err != nil {
			fmt.Fprintln(os.Stderr, "creating the operator namespace:", err)
			return 1
		}
		mgrClient = client.WithFieldOwner(mgr.GetClient(), FieldOwner)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			if err := mgr.Start(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "manager stopped:", err)
			}
		}()
		defer func() { _ = sharedPostgres.Stop(); _ = sharedMySQL.Stop() }()
		return m.Run()
	}()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

func zapLevel() zapcore.Level {
	if os.Getenv("TEST_VERBOSE") != "" {
		return -2
	}
	return 2 // errors only
}

// newNamespace creates a namespace of the test's own, so tests never see each other's objects.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("t%d-%d", time.Now().Unix()%100000, nsCounter.Add(1))}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// markDeploymentRolledOut plays the Deployment controller: every replica of the current
// generation is updated, ready and available.
func markDeploymentRolledOut(t *testing.T, ctx context.Context, key client.ObjectKey) {
	t.Helper()
	// The Deployment may not exist yet (a pass writes the database first), and the
	// manager may write it between our read and our status write: retry both.
	NewWithT(t).Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, key, d)).To(Succeed(), "reading Deployment")
		n := ptr.Deref(d.Spec.Replicas, 1)
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation,
			Replicas:           n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		}
		g.Expect(k8s.Status().Update(ctx, d)).To(Succeed(), "writing Deployment status")
	}, timeout, interval).Should(Succeed())
}
