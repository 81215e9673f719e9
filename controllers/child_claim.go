package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// notOwnedRecheck is how often a pass blocked by an object kubeship may not write is
// retried. Such objects are outside the label-filtered cache, so their owner adding
// the adoption annotation sends no watch event; a user who just consented expects the
// takeover within about a minute without touching the Microservice.
const notOwnedRecheck = time.Minute

// notOwnedError reports an existing object kubeship refused to write. It is not a
// failure to retry with backoff: only the object's owner can change the outcome.
type notOwnedError struct {
	kind, name      string
	reason, message string
}

func (e *notOwnedError) Error() string { return e.message }

// asNotOwned returns the refusal in err, if err is one.
func asNotOwned(err error) (*notOwnedError, bool) {
	var n *notOwnedError
	ok := errors.As(err, &n)
	return n, ok
}

// noteRefusal records a refusal in obs and returns nil for it, so the pass goes on
// with the other children; any other error is returned as it is.
func noteRefusal(obs *observed, err error) error {
	if n, ok := asNotOwned(err); ok {
		obs.notOwned = append(obs.notOwned, n)
		return nil
	}
	return err
}

// refusalSummary is the condition reason and message for refusals: the first one's
// reason, and every message in the order the pass met them, so it is stable.
func refusalSummary(refused []*notOwnedError) (string, string) {
	msgs := make([]string, len(refused))
	for i, n := range refused {
		msgs[i] = n.message
	}
	return refused[0].reason, strings.Join(msgs, "; ")
}

// refusalOf returns the refusal of the object of that kind and name, if any.
func refusalOf(refused []*notOwnedError, kind, name string) *notOwnedError {
	for _, n := range refused {
		if n.kind == kind && n.name == name {
			return n
		}
	}
	return nil
}

// claimChild reads ms's child called name into obj and decides whether kubeship may
// write it. found is false when no such object exists (checked on the API server, not
// only in the cache, which sees only objects labelled as kubeship's). A foreign object
// gives a *notOwnedError; one whose owner consented is adopted first: kubeship becomes
// the field owner of what client-side writers set, so its next apply leaves the object
// as the Microservice describes it, in place. byLabels is for the credentials Secret,
// see decideOwnership.
func (r *MicroserviceReconciler) claimChild(ctx context.Context, ms *v1alpha1.Microservice, name string, obj client.Object, byLabels bool) (found, adopted bool, err error) {
	found, err = r.getChild(ctx, ms, name, obj)
	if err != nil || !found {
		return found, false, err
	}
	adopted, err = r.claimExisting(ctx, ms, name, obj, byLabels)
	return true, adopted, err
}

// claimAndApply claims ms's child called name into live and calls apply with whether it
// was found; apply writes it with applyChild. Only the cache is read first: a child it
// does not hold is created by applyChild's create-only apply, which changes nothing when
// an object by that name exists after all (someone else's, which the label-filtered
// cache never holds, or kubeship's own not seen yet). Then the claim is made again from
// the API server and apply called once more with its outcome. So a new child costs one
// request, not a read proving it absent and then a write.
func (r *MicroserviceReconciler) claimAndApply(ctx context.Context, ms *v1alpha1.Microservice, kind, name string, live client.Object, apply func(found bool) error) error {
	err := r.Get(ctx, client.ObjectKey{Namespace: ms.Namespace, Name: name}, live)
	found := err == nil
	switch {
	case found:
		_, err = r.claimExisting(ctx, ms, name, live, false)
	case apierrors.IsNotFound(err):
		err = nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", kind, err)
	}
	if err := apply(found); !errors.Is(err, errChildExists) {
		return err
	}
	found, _, err = r.claimChild(ctx, ms, name, live, false)
	if err != nil {
		return fmt.Errorf("reading %s: %w", kind, err)
	}
	return apply(found)
}

// claimExisting decides whether kubeship may write obj, an existing child of ms called
// name (see claimChild); adopted is true when its owner consented and kubeship took
// its fields.
func (r *MicroserviceReconciler) claimExisting(ctx context.Context, ms *v1alpha1.Microservice, name string, obj client.Object, byLabels bool) (adopted bool, err error) {
	kind := kindOf(r.Scheme(), obj)
	switch d := decideOwnership(ms, kind, obj, byLabels); d.claim {
	case claimOwned:
		return false, nil
	case claimRefused:
		return false, &notOwnedError{kind: kind, name: name, reason: d.reason, message: d.message}
	}
	if err := r.takeFieldOwnership(ctx, obj); err != nil {
		return false, fmt.Errorf("adopting %s %s: %w", kind, name, err)
	}
	return true, nil
}

// getChild reads a child of ms; found is false when it does not exist. A cache miss is
// confirmed on the API server: the cache holds only kubeship-labelled objects, and an
// apply onto an unseen object would take it over.
func (r *MicroserviceReconciler) getChild(ctx context.Context, ms *v1alpha1.Microservice, name string, obj client.Object) (bool, error) {
	key := client.ObjectKey{Namespace: ms.Namespace, Name: name}
	err := r.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) && r.APIReader != nil {
		err = r.APIReader.Get(ctx, key, obj)
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// takeFieldOwnership hands the fields that client-side writers (kubectl create or
// apply, Helm 3) own in obj's spec or data to kubeship's field manager, as
// `kubectl apply --server-side` does when upgrading from client-side apply. Without
// it, kubeship's apply would add to the object (a second container, extra selector
// labels) instead of making it what the Microservice describes. Metadata stays with
// its writers, so the object keeps its own labels and annotations (and a Deployment
// its generation); server-side appliers and status writers keep their fields. The
// patch is guarded by the resourceVersion read, so a concurrent edit wins.
func (r *MicroserviceReconciler) takeFieldOwnership(ctx context.Context, obj client.Object) error {
	// The cache keeps only kubeship's own managed-fields entries (keepOwnFieldManagers):
	// the patch below replaces them all, so it must start from the server's.
	split := obj.DeepCopyObject().(client.Object)
	if r.APIReader != nil {
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), split); err != nil {
			return err
		}
	}
	entries := []metav1.ManagedFieldsEntry{}
	handed := sets.New[string]()
	for _, e := range split.GetManagedFields() {
		content, rest, ok := splitContent(e)
		if !ok || e.Operation != metav1.ManagedFieldsOperationUpdate || e.Subresource != "" || e.Manager == FieldOwner {
			entries = append(entries, e)
			continue
		}
		// The content part goes under a name of its own, which the upgrade merges
		// into kubeship's entry and drops.
		handedName := e.Manager + " (spec, handed to kubeship)"
		handed.Insert(handedName)
		contentEntry := e
		contentEntry.Manager, contentEntry.FieldsV1 = handedName, content
		entries = append(entries, contentEntry)
		if rest != nil {
			e.FieldsV1 = rest
			entries = append(entries, e)
		}
	}
	if handed.Len() == 0 {
		return nil
	}
	split.SetManagedFields(entries)
	if err := csaupgrade.UpgradeManagedFields(split, handed, FieldOwner); err != nil {
		return err
	}
	// Replacing resourceVersion with the one read makes a concurrent edit a Conflict.
	patch, err := json.Marshal([]map[string]any{
		{"op": "replace", "path": "/metadata/managedFields", "value": split.GetManagedFields()},
		{"op": "replace", "path": "/metadata/resourceVersion", "value": split.GetResourceVersion()},
	})
	if err != nil {
		return err
	}
	return r.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, patch))
}

// splitContent splits a managed fields entry into the part covering the object's spec
// or data and the rest (nil when empty); ok is false when it covers no spec or data.
func splitContent(e metav1.ManagedFieldsEntry) (content, rest *metav1.FieldsV1, ok bool) {
	if e.FieldsV1 == nil {
		return nil, nil, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(e.FieldsV1.GetRawBytes(), &top) != nil {
		return nil, nil, false
	}
	contentKeys := map[string]json.RawMessage{}
	for _, k := range []string{"f:spec", "f:data", "f:stringData", "f:type"} {
		if v, found := top[k]; found {
			contentKeys[k] = v
			delete(top, k)
		}
	}
	if len(contentKeys) == 0 {
		return nil, nil, false
	}
	raw := func(m map[string]json.RawMessage) *metav1.FieldsV1 {
		b, _ := json.Marshal(m)
		return metav1.NewFieldsV1(string(b))
	}
	if len(top) > 0 {
		rest = raw(top)
	}
	return raw(contentKeys), rest, true
}

// kindOf names obj's kind for messages, e.g. "Deployment".
func kindOf(scheme *runtime.Scheme, obj client.Object) string {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return fmt.Sprintf("%T", obj)
	}
	return gvk.Kind
}
