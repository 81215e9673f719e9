package controllers

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// CacheOptions restricts the manager's informers for child kinds to objects kubeship
// manages, so memory grows with the number of Microservices, not with the cluster.
// With namespaces, every namespaced kind (Microservices included) is watched in those
// namespaces only; cluster-scoped kinds (DatabaseServers, Namespaces) are still watched
// cluster-wide. No namespaces means all of them.
func CacheOptions(namespaces ...string) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{resources.LabelManagedBy: resources.ManagedByKubeship})
	byObject := map[client.Object]cache.ByObject{}
	for _, obj := range []client.Object{
		&appsv1.Deployment{}, &corev1.Service{}, &autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{},
		&corev1.Secret{}, &appsv1.StatefulSet{}, &networkingv1.NetworkPolicy{}, &corev1.PersistentVolumeClaim{},
		&batchv1.Job{},
	} {
		byObject[obj] = cache.ByObject{Label: managed, Transform: cachedChild}
	}
	byObject[&v1alpha1.Microservice{}] = cache.ByObject{Transform: cachedMicroservice}
	maps.Copy(byObject, routingCacheObjects(managed))
	return cache.Options{ByObject: byObject, DefaultNamespaces: namespaceConfigs(namespaces)}
}

// namespaceConfigs is a cache's DefaultNamespaces for namespaces; nil (all) when empty.
func namespaceConfigs(namespaces []string) map[string]cache.Config {
	if len(namespaces) == 0 {
		return nil
	}
	out := make(map[string]cache.Config, len(namespaces))
	for _, ns := range namespaces {
		out[ns] = cache.Config{}
	}
	return out
}

// cachedChild is the form a child takes in the cache: kubeship's own managed fields
// only, strings shared, and string maps shared with its service's other children.
func cachedChild(obj any) (any, error) {
	return shareWithSiblings(keepOwnFieldManagers(obj))
}

// cachedMicroservice is the form a Microservice takes in the cache: no managed fields,
// no last-applied copy, strings shared.
func cachedMicroservice(obj any) (any, error) {
	return internStrings(dropFieldManagers(obj))
}

// keepOwnFieldManagers drops from a cached child the managed-fields entries of every
// field manager but kubeship's own (FieldOwner), whose field sets it shares with every
// equal one in the cache (see fieldSetTable): the converged pass
// compares only the fields kubeship owns (ExtractX with FieldOwner), and the status
// writers' entries (the controller manager's, the autoscaler's) are most of an object's
// managed fields. Whatever needs the other entries (takeFieldOwnership, on adoption)
// reads the object from the API server.
func keepOwnFieldManagers(obj any) any {
	o, ok := obj.(metav1.Object)
	if !ok {
		return obj
	}
	entries := o.GetManagedFields()
	n := 0
	for _, e := range entries {
		if e.Manager == FieldOwner {
			n++
		}
	}
	// A slice of its own size: the decoded one has room for every manager's entry.
	var kept []metav1.ManagedFieldsEntry
	if n > 0 {
		kept = make([]metav1.ManagedFieldsEntry, 0, n)
	}
	for _, e := range entries {
		if e.Manager == FieldOwner {
			if e.FieldsV1 != nil {
				// SetRawBytes would copy: the point is to hold the shared bytes. (Built
				// with apimachinery's fieldsv1string tag, FieldsV1 shares equal sets on
				// its own and has no Raw.)
				e.FieldsV1.Raw = fieldSets.intern(e.FieldsV1.GetRawBytes()) //nolint:staticcheck // see above
			}
			kept = append(kept, e)
		}
	}
	o.SetManagedFields(kept)
	return obj
}

// dropFieldManagers drops a cached Microservice's managed fields and the copy of the
// whole object that client-side `kubectl apply` keeps in an annotation: kubeship reads
// neither, and together they can be larger than the rest of the object.
func dropFieldManagers(obj any) any {
	o, ok := obj.(metav1.Object)
	if !ok {
		return obj
	}
	o.SetManagedFields(nil)
	if a := o.GetAnnotations(); a != nil {
		if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
			delete(a, corev1.LastAppliedConfigAnnotation)
			o.SetAnnotations(a)
		}
	}
	return obj
}

// ParseNamespaces reads the --watch-namespaces flag: namespace names separated by
// commas, blanks around them ignored, duplicates dropped. Empty means all namespaces
// (nil). A name that is not a valid namespace name is an error, so a typo fails at start
// instead of silently watching nothing.
func ParseNamespaces(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		ns := strings.TrimSpace(part)
		if ns == "" {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
		}
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out, nil
}
