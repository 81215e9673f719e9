package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// createOnlyVersion is a resourceVersion no object can have: a resourceVersion is the
// etcd revision of the object's last write, and this is the largest revision etcd can
// count to. An apply that carries it creates the object when none exists, and is
// refused with a Conflict, changing nothing, when one does.
const createOnlyVersion = "9223372036854775807"

// errChildExists is createChild's answer when an object by the child's name exists.
var errChildExists = errors.New("an object by that name exists")

// namedApplyConfiguration is what every generated apply configuration provides.
type namedApplyConfiguration interface {
	GetName() *string
	GetNamespace() *string
}

// createChild creates desired with one create-only Server-Side Apply and decodes the
// object the API server made into live. The apply is the same kubeship's later passes
// send (field manager and all), so the new object's managed fields are the ones a
// converged pass compares; only the resourceVersion precondition makes it fail, with
// errChildExists, on an existing object instead of taking it over.
func createChild(ctx context.Context, c client.Client, live client.Object, desired runtime.ApplyConfiguration) error {
	named, ok := desired.(namedApplyConfiguration)
	if !ok || named.GetName() == nil {
		return fmt.Errorf("apply configuration %T has no name", desired)
	}
	body, err := withResourceVersion(desired, createOnlyVersion)
	if err != nil {
		return err
	}
	live.SetName(*named.GetName())
	if ns := named.GetNamespace(); ns != nil {
		live.SetNamespace(*ns)
	}
	err = c.Patch(ctx, live, client.RawPatch(types.ApplyPatchType, body))
	if apierrors.IsConflict(err) {
		return errChildExists
	}
	return err
}

// withResourceVersion is desired as an apply patch whose metadata carries rv.
func withResourceVersion(desired runtime.ApplyConfiguration, rv string) ([]byte, error) {
	raw, err := json.Marshal(desired)
	if err != nil {
		return nil, err
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(raw, &object); err != nil {
		return nil, err
	}
	meta := map[string]json.RawMessage{}
	if m, ok := object["metadata"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, err
		}
	}
	if meta["resourceVersion"], err = json.Marshal(rv); err != nil {
		return nil, err
	}
	if object["metadata"], err = json.Marshal(meta); err != nil {
		return nil, err
	}
	return json.Marshal(object)
}
