package controllers

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	} {
		byObject[obj] = cache.ByObject{Label: managed}
	}
	maps.Copy(byObject, routingCacheObjects(managed))
	opts := cache.Options{ByObject: byObject}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
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
