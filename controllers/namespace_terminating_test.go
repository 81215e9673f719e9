package controllers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestOnlyNamespaceTerminating(t *testing.T) {
	terminating := &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: 403, Reason: metav1.StatusReasonForbidden,
		Message: `services "api" is forbidden: unable to create new content in namespace shop because it is being terminated`,
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause, Field: "shop"}}},
	}}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "api", errors.New("RBAC"))
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"none":                      {nil, false},
		"terminating":               {terminating, true},
		"terminating, wrapped":      {fmt.Errorf("creating Service: %w", terminating), true},
		"terminating, joined twice": {errors.Join(fmt.Errorf("creating Service: %w", terminating), terminating), true},
		"joined under a wrap":       {fmt.Errorf("step: %w", errors.Join(terminating, terminating)), true},
		"other forbidden":           {forbidden, false},
		"terminating and another":   {errors.Join(terminating, forbidden), false},
		"another wrapped with it":   {fmt.Errorf("step: %w", errors.Join(terminating, errors.New("timeout"))), false},
		"plain error":               {errors.New("namespace is being terminated"), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := onlyNamespaceTerminating(tc.err); got != tc.want {
				t.Errorf("onlyNamespaceTerminating(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// A namespace being deleted refuses every create in it; its deletion removes the
// Microservice too. A pass that meets the refusal reports it and is not retried: before,
// the workqueue retried it with backoff until the Microservice was gone, and a cluster
// that deletes namespaces often kept the manager busy for nothing.
func TestChildrenRefusedByATerminatingNamespaceAreNotRetried(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "api")
	key := createAndWaitForDeployment(g, ctx, ms)

	// Without a namespace controller, the namespace stays Terminating: what the
	// manager sees between a namespace's deletion and its Microservices' removal.
	g.Expect(k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: key.Namespace}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: key.Namespace}, ns)).To(Succeed())
		g.Expect(ns.DeletionTimestamp).NotTo(BeNil())
	}, timeout, interval).Should(Succeed())
	// The namespace controller deletes the children first, as it may.
	g.Expect(k8s.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})).To(Succeed())

	g.Eventually(func(g Gomega) {
		expectNoRetry(g, ctx, key)
		ready := readyOf(g, ctx, key)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonReconcileError))
		g.Expect(ready.Message).To(ContainSubstring("being terminated"))
	}, timeout, interval).Should(Succeed())
}
