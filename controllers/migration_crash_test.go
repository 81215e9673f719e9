package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// drivenPrefix starts the namespaces whose Microservices the suite's manager leaves
// alone (testOptions.ignore): tests drive them pass by pass with reconcilers of their own.
const drivenPrefix = "driven-"

func drivenByTest(req reconcile.Request) bool { return strings.HasPrefix(req.Namespace, drivenPrefix) }

func newDrivenNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s%d-%d", drivenPrefix, time.Now().Unix()%100000, nsCounter.Add(1))}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// errCrash is what a write returns once the process "died": it never reaches the API
// server, nor does anything after it in the pass.
var errCrash = errors.New("the manager was killed")

// crashingClient is a manager that is killed after a number of writes. It also checks
// the promise of the migration gate at every Deployment write: a template with a
// revision's image is only written once that revision's Job succeeded.
type crashingClient struct {
	client.Client
	t      testing.TB
	budget int               // writes left; negative means unlimited
	gated  map[string]string // image -> migration Job that must have succeeded first
	mu     *sync.Mutex
	jobs   map[string]int // successful Job creations by name, over every "process"
}

func (c *crashingClient) spend() error {
	if c.budget == 0 {
		return errCrash
	}
	if c.budget > 0 {
		c.budget--
	}
	return nil
}

func (c *crashingClient) Create(ctx context.Context, o client.Object, opts ...client.CreateOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	err := c.Client.Create(ctx, o, opts...)
	if _, isJob := o.(*batchv1.Job); isJob && err == nil {
		c.mu.Lock()
		c.jobs[o.GetName()]++
		c.mu.Unlock()
	}
	return err
}

func (c *crashingClient) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.PatchOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Client.Patch(ctx, o, p, opts...)
}

func (c *crashingClient) Delete(ctx context.Context, o client.Object, opts ...client.DeleteOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Client.Delete(ctx, o, opts...)
}

func (c *crashingClient) Apply(ctx context.Context, o runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if err := c.spend(); err != nil {
		return err
	}
	if d, ok := o.(*appsv1ac.DeploymentApplyConfiguration); ok && d.Spec != nil && d.Spec.Template != nil {
		image := ptr.Deref(d.Spec.Template.Spec.Containers[0].Image, "")
		if job, gated := c.gated[image]; gated {
			got := &batchv1.Job{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ptr.Deref(d.Namespace, ""), Name: job}, got); err != nil || !jobSucceeded(got) {
				c.t.Errorf("the Deployment was given image %s before migration Job %s succeeded", image, job)
			}
		}
	}
	return c.Client.Apply(ctx, o, opts...)
}

func (c *crashingClient) Status() client.SubResourceWriter {
	return &crashingStatus{SubResourceWriter: c.Client.Status(), c: c}
}

type crashingStatus struct {
	client.SubResourceWriter
	c *crashingClient
}

func (s *crashingStatus) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	if err := s.c.spend(); err != nil {
		return err
	}
	return s.SubResourceWriter.Patch(ctx, o, p, opts...)
}

// scenario is one Microservice taken through an image bump by "processes" that die.
type scenario struct {
	t    *testing.T
	g    Gomega
	key  client.ObjectKey
	mu   sync.Mutex
	jobs map[string]int
	// gated maps the bumped image to its migration Job.
	gated map[string]string
}

// process is a freshly started manager: a new reconciler with nothing in memory, reading
// the API server directly (an empty cache that fills at once), killed after budget writes.
func (s *scenario) process(budget int) *MicroserviceReconciler {
	c := &crashingClient{Client: client.WithFieldOwner(k8s, FieldOwner), t: s.t, budget: budget, gated: s.gated, mu: &s.mu, jobs: s.jobs}
	return &MicroserviceReconciler{Client: c, APIReader: k8s}
}

// run makes passes until the process dies or the Microservice converged, playing the Job
// controller between passes: a Job that exists succeeds. It tells whether it died.
func (s *scenario) run(ctx context.Context, r *MicroserviceReconciler) bool {
	for range 12 {
		_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: s.key})
		if errors.Is(err, errCrash) {
			return true
		}
		s.g.Expect(err).NotTo(HaveOccurred())
		list := &batchv1.JobList{}
		s.g.Expect(k8s.List(ctx, list, client.InNamespace(s.key.Namespace))).To(Succeed())
		for _, j := range list.Items {
			if !jobFinished(&j) {
				finishJob(s.t, ctx, client.ObjectKeyFromObject(&j), true)
			}
		}
		if s.converged(ctx) {
			return false
		}
	}
	s.t.Fatalf("no convergence in 12 passes")
	return false
}

func (s *scenario) converged(ctx context.Context) bool {
	ms := &v1alpha1.Microservice{}
	s.g.Expect(k8s.Get(ctx, s.key, ms)).To(Succeed())
	d := &appsv1.Deployment{}
	if err := k8s.Get(ctx, s.key, d); err != nil {
		return false
	}
	return ms.Status.Migration != nil && ms.Status.Migration.Revision == resources.MigrationRevision(ms) &&
		d.Spec.Template.Spec.Containers[0].Image == ms.Spec.Image
}

// The manager is killed after each possible number of writes of an image bump (before
// the Job is created, between creating it and recording it, between recording success
// and moving the Deployment, ...), and a new one, knowing nothing, takes over. Every
// time: the new image's migration ran exactly once, and the Deployment had the new image
// only after it succeeded.
func TestMigrationSurvivesAKillAtEveryStep(t *testing.T) {
	ctx := context.Background()
	for budget := 0; ; budget++ {
		died := false
		t.Run(fmt.Sprintf("killed after %d writes", budget), func(t *testing.T) {
			g := NewWithT(t)
			ms := newMigratingMicroservice(newDrivenNamespace(t), "payments")
			g.Expect(k8s.Create(ctx, ms)).To(Succeed())
			s := &scenario{t: t, g: g, key: client.ObjectKeyFromObject(ms), jobs: map[string]int{}, gated: map[string]string{}}
			s.gated[ms.Spec.Image] = migrationJobKey(ms).Name
			s.run(ctx, s.process(-1)) // the first version, migrated and rolled

			bumped := mustGet(g, ctx, s.key)
			bumped.Spec.Image = "ghcr.io/acme/payments:2.0.0"
			g.Expect(k8s.Update(ctx, bumped)).To(Succeed())
			s.gated[bumped.Spec.Image] = migrationJobKey(bumped).Name

			died = s.run(ctx, s.process(budget))
			if died {
				s.run(ctx, s.process(-1))
			}
			g.Expect(s.converged(ctx)).To(BeTrue())
			g.Expect(s.jobs).To(Equal(map[string]int{migrationJobKey(ms).Name: 1, migrationJobKey(bumped).Name: 1}),
				"each revision's migration ran exactly once")
			// And once converged, a pass of yet another process writes nothing.
			_, err := s.process(0).Reconcile(ctx, ctrl.Request{NamespacedName: s.key})
			g.Expect(err).NotTo(HaveOccurred(), "a converged pass must send no write")
		})
		if !died || t.Failed() {
			if budget < 3 {
				t.Fatalf("the bump took only %d writes: the test no longer kills it between its steps", budget)
			}
			return
		}
	}
}

// A stale view of the Deployment (an informer behind the API server, or a second pass
// racing this one) must not write an outdated template back while a migration holds the
// rollout: the held template is read past the cache, and the write carries the
// resourceVersion it was read at.
func TestHeldTemplateIsNeverWrittenFromAStaleRead(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMigratingMicroservice(newDrivenNamespace(t), "catalog")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	s := &scenario{t: t, g: g, key: client.ObjectKeyFromObject(ms), jobs: map[string]int{}, gated: map[string]string{}}
	s.run(ctx, s.process(-1))             // 1.0.0 migrated and rolled
	stale := getDeployment(g, ctx, s.key) // what a lagging cache still shows
	setImage(g, ctx, s.key, "ghcr.io/acme/catalog:2.0.0")
	s.run(ctx, s.process(-1)) // 2.0.0 migrated and rolled
	g.Expect(templateImage(g, ctx, s.key)).To(Equal("ghcr.io/acme/catalog:2.0.0"))

	setImage(g, ctx, s.key, "ghcr.io/acme/catalog:3.0.0") // its migration will not finish
	g.Eventually(func() error {
		m := mustGet(g, ctx, s.key)
		m.Spec.Replicas = ptr.To[int32](2) // something to write while the template is held
		return k8s.Update(ctx, m)
	}, timeout, interval).Should(Succeed())

	cases := []struct {
		name      string
		apiReader client.Reader
		conflict  bool
	}{
		// The held template is read past the cache: the pass goes through, and the
		// replica change reaches the Deployment.
		{"stale cache", k8s, false},
		// Both reads are behind: the write is refused, and the next pass retries.
		{"stale cache and API reader (race)", staleReader{Reader: k8s, deployment: stale}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c := client.WithFieldOwner(staleClient{Client: k8s, deployment: stale}, FieldOwner)
			r := &MicroserviceReconciler{Client: c, APIReader: tc.apiReader}
			_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: s.key})
			if tc.conflict {
				g.Expect(apierrors.IsConflict(err)).To(BeTrue(), "want a conflict, got %v", err)
			} else {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(getDeployment(g, ctx, s.key).Spec.Replicas).To(Equal(ptr.To[int32](2)))
			}
			g.Expect(templateImage(g, ctx, s.key)).To(Equal("ghcr.io/acme/catalog:2.0.0"),
				"the template held while migrating is the one serving, never an older one")
		})
	}
}

// staleClient and staleReader read one Deployment as it was at some point in the past.
type staleClient struct {
	client.Client
	deployment *appsv1.Deployment
}

func (c staleClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return staleGet(ctx, c.Client, c.deployment, key, obj, opts...)
}

type staleReader struct {
	client.Reader
	deployment *appsv1.Deployment
}

func (c staleReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return staleGet(ctx, c.Reader, c.deployment, key, obj, opts...)
}

func staleGet(ctx context.Context, r client.Reader, stale *appsv1.Deployment, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if d, ok := obj.(*appsv1.Deployment); ok && key == client.ObjectKeyFromObject(stale) {
		stale.DeepCopyInto(d)
		return nil
	}
	return r.Get(ctx, key, obj, opts...)
}

// A long name leaves room for only 4 characters of the revision in the Job's name, so two
// revisions can share a name. A finished Job of another revision under the current
// revision's name, even a succeeded one, is not the migration: it is deleted, and the
// current revision gets a Job of its own.
func TestJobOfAnotherRevisionUnderTheSameNameIsNotTheMigration(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMigratingMicroservice(newDrivenNamespace(t), strings.Repeat("l", 50))
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	other := resources.MigrationJob(ms, "ffffffffffffffff") // another revision...
	other.Name = migrationJobKey(ms).Name                   // ...whose name prefix collides
	g.Expect(k8s.Create(ctx, other)).To(Succeed())
	finishJob(t, ctx, client.ObjectKeyFromObject(other), true)
	s := &scenario{t: t, g: g, key: client.ObjectKeyFromObject(ms), jobs: map[string]int{}, gated: map[string]string{ms.Spec.Image: other.Name}}

	r := s.process(-1)
	_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: s.key})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(k8s.Get(ctx, s.key, &appsv1.Deployment{})).To(Satisfy(apierrors.IsNotFound), "another revision's success is no migration")
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(other), &batchv1.Job{})).To(Satisfy(apierrors.IsNotFound), "the colliding Job is deleted")

	s.run(ctx, r)
	job := &batchv1.Job{}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(other), job)).To(Succeed())
	g.Expect(job.Annotations[resources.AnnotationMigrationRevision]).To(Equal(resources.MigrationRevision(ms)))
	g.Expect(s.jobs).To(Equal(map[string]int{other.Name: 1}))
}
