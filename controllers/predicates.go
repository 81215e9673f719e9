package controllers

import (
	"slices"

	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// objectChanged passes every event except an update that changed only status (or other
// fields that do not bump metadata.generation, such as managedFields and resourceVersion):
// a controller's own status write must not wake it for another pass. Spec changes
// (generation), labels, annotations, finalizers and the start of deletion pass.
func objectChanged() predicate.Predicate {
	return predicate.Or(
		predicate.GenerationChangedPredicate{},
		predicate.LabelChangedPredicate{},
		predicate.AnnotationChangedPredicate{},
		finalizersOrDeletionChanged(),
	)
}

// versionChanged passes every event except an update that carries the very version of the
// object the cache already held. An informer that lost its watch and listed again (or
// resynced) delivers each object it holds as such an update; nothing in it is new, so it
// cannot change what a pass would do, and a fleet must not be reconciled whole for it.
func versionChanged() predicate.Predicate {
	return predicate.ResourceVersionChangedPredicate{}
}

func finalizersOrDeletionChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e ctrlevent.UpdateEvent) bool {
			if e.ObjectOld == nil || e.ObjectNew == nil {
				return true
			}
			oldDel, newDel := e.ObjectOld.GetDeletionTimestamp(), e.ObjectNew.GetDeletionTimestamp()
			return !slices.Equal(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers()) ||
				(oldDel == nil) != (newDel == nil)
		},
	}
}
