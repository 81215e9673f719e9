package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"
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
	createOnly, err := withResourceVersion(desired, createOnlyVersion)
	if err != nil {
		return err
	}
	body, err := json.Marshal(createOnly)
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

// withResourceVersion is desired with rv as its metadata's resourceVersion ("": none),
// as a shallow copy when that changes anything: desired itself is left as it is. Every
// generated apply configuration embeds its metadata as *ObjectMetaApplyConfiguration.
func withResourceVersion(desired runtime.ApplyConfiguration, rv string) (any, error) {
	v := reflect.ValueOf(desired)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("apply configuration %T is not a pointer to a struct", desired)
	}
	field := v.Elem().FieldByName("ObjectMetaApplyConfiguration")
	if !field.IsValid() {
		return nil, fmt.Errorf("apply configuration %T has no metadata", desired)
	}
	meta, ok := field.Interface().(*metav1ac.ObjectMetaApplyConfiguration)
	if !ok {
		return nil, fmt.Errorf("apply configuration %T has metadata of type %s", desired, field.Type())
	}
	var bare metav1ac.ObjectMetaApplyConfiguration
	if meta != nil {
		bare = *meta
	}
	if ptr.Deref(bare.ResourceVersion, "") == rv {
		return desired, nil
	}
	bare.ResourceVersion = nil
	if rv != "" {
		bare.ResourceVersion = &rv
	}
	c := reflect.New(v.Elem().Type())
	c.Elem().Set(v.Elem())
	c.Elem().FieldByName("ObjectMetaApplyConfiguration").Set(reflect.ValueOf(&bare))
	return c.Interface(), nil
}
