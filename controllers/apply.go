package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// FieldOwner is the Server-Side Apply field manager of everything kubeship writes. The
// controllers' client carries it (client.WithFieldOwner in SetupWithManager), so no
// write names it.
const FieldOwner = "kubeship"

// extractFunc returns the fields a field manager owns in a live object, as an apply
// configuration (client-go's generated ExtractXxx functions).
type extractFunc[O client.Object, A runtime.ApplyConfiguration] func(O, string) (A, error)

// syncChild reads ms's child called name into live, then applies desired to it unless
// the object exists and is not ms's to write (a *notOwnedError); when want is false it
// deletes the child instead, if ms controls it.
func syncChild[O client.Object, A runtime.ApplyConfiguration](
	ctx context.Context, r *MicroserviceReconciler, ms *v1alpha1.Microservice, obs *observed,
	kind, name string, live O, want bool, desired A, extract extractFunc[O, A],
) error {
	if !want {
		// Only what ms controls is deleted, and all of that carries kubeship's labels,
		// so the cache is enough here.
		err := r.Get(ctx, client.ObjectKey{Namespace: ms.Namespace, Name: name}, live)
		if err != nil {
			return client.IgnoreNotFound(err)
		}
		r.applied.forget(client.ObjectKeyFromObject(ms), kind)
		return r.deleteOwned(ctx, ms, live, true, kind)
	}
	return r.claimAndApply(ctx, ms, kind, name, live, func(found bool) error {
		return applyChild(ctx, r, ms, obs, kind, live, found, desired, extract)
	})
}

// applyChild server-side applies desired, unless live already holds exactly the fields
// kubeship owns with the values it wants: then it sends nothing, so a pass over a
// converged object costs no API request. Whether it holds them is remembered
// (appliedMemo), so a pass compares them only when the child or desired changed. A child
// not found is created with a create-only apply (createChild), which returns
// errChildExists when an object by that name exists. On return live holds the object as
// the API server has it; a creation is noted in obs for the Created event.
func applyChild[O client.Object, A runtime.ApplyConfiguration](
	ctx context.Context, r *MicroserviceReconciler, ms *v1alpha1.Microservice, obs *observed,
	kind string, live O, found bool, desired A, extract extractFunc[O, A],
) error {
	key := client.ObjectKeyFromObject(ms)
	applied, err := stateToApply(desired)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", kind, err)
	}
	if !found {
		if err := createChild(ctx, r.Client, live, desired); err != nil {
			return fmt.Errorf("creating %s: %w", kind, err)
		}
		obs.created = append(obs.created, kind)
		r.applied.remember(key, kind, live, applied)
		return nil
	}
	if r.applied.holds(key, kind, live, applied) {
		return nil
	}
	owned, err := extract(live, FieldOwner)
	if err == nil && equality.Semantic.DeepEqual(owned, desired) {
		r.applied.remember(key, kind, live, applied)
		return nil
	}
	if err := r.Apply(ctx, desired, client.ForceOwnership); err != nil {
		r.applied.forget(key, kind)
		return fmt.Errorf("applying %s: %w", kind, err)
	}
	// The apply response (the whole object) was decoded into desired.
	raw, err := json.Marshal(desired)
	if err != nil {
		return fmt.Errorf("reading %s apply response: %w", kind, err)
	}
	// Reset live first: decoding into a filled struct would merge maps.
	v := reflect.ValueOf(live).Elem()
	v.Set(reflect.Zero(v.Type()))
	if err := json.Unmarshal(raw, live); err != nil {
		return fmt.Errorf("reading %s apply response: %w", kind, err)
	}
	r.applied.remember(key, kind, live, applied)
	return nil
}
