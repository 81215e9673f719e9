package controllers

import (
	"maps"
	"reflect"
	"slices"
	"sync"
	"unique"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/controllers/resources"
)

// internStrings makes the strings of a cached object share one copy with every equal
// string in the cache. A decoded object owns a fresh copy of each string, and a
// service's objects repeat the same ones many times over: label keys and values,
// its name and namespace, the Microservice's UID in every owner reference, field
// manager names, API versions, condition types and reasons, images. The object's
// values do not change, so nothing that reads the cache can tell.
//
// Left out are the strings that are unique to one object or one version of it (its
// own UID and resourceVersion, and condition messages): sharing those only costs the
// table's entry.
func internStrings(obj any) (any, error) {
	return internAndShare(obj, nil)
}

// internAndShare interns obj's strings (see internStrings) and, with share, replaces
// each of its string maps by the one share returns.
func internAndShare(obj any, share func(map[string]string) map[string]string) (any, error) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return obj, nil
	}
	internValue(v.Elem(), share)
	return obj, nil
}

var (
	objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()
	stringMapType  = reflect.TypeFor[map[string]string]()
)

// internValue interns every settable string reachable from v without going through an
// interface or an unexported field, and replaces its string maps by share's (when not
// nil).
func internValue(v reflect.Value, share func(map[string]string) map[string]string) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); s != "" && v.CanSet() {
			v.SetString(unique.Make(s).Value())
		}
	case reflect.Pointer:
		if !v.IsNil() {
			internValue(v.Elem(), share)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || skipField(t, f.Name) {
				continue
			}
			internValue(v.Field(i), share)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			internValue(v.Index(i), share)
		}
	case reflect.Map:
		internStringMap(v)
		if share != nil && v.CanSet() && v.Type() == stringMapType && v.Len() > 0 {
			v.Set(reflect.ValueOf(share(v.Interface().(map[string]string))))
		}
	}
}

// skipField tells the fields internValue leaves alone.
func skipField(t reflect.Type, name string) bool {
	switch name {
	case "Message":
		return true
	case "UID", "ResourceVersion":
		return t == objectMetaType
	}
	return false
}

// internStringMap interns the keys and values of a map of strings (labels, annotations,
// selectors). Assigning an equal key replaces the stored key, so the map keeps its
// entries and takes the shared copies.
func internStringMap(m reflect.Value) {
	t := m.Type()
	if m.IsNil() || t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
		return
	}
	type entry struct{ k, v reflect.Value }
	entries := make([]entry, 0, m.Len())
	for it := m.MapRange(); it.Next(); {
		k := reflect.New(t.Key()).Elem()
		k.SetString(unique.Make(it.Key().String()).Value())
		val := reflect.New(t.Elem()).Elem()
		val.SetString(unique.Make(it.Value().String()).Value())
		entries = append(entries, entry{k, val})
	}
	for _, e := range entries {
		m.SetMapIndex(e.k, e.v)
	}
}

// fieldSets is the cache's table of managed-fields sets.
var fieldSets = &fieldSetTable{}

// maxFieldSets bounds fieldSetTable: more distinct sets than this, and it starts over.
const maxFieldSets = 4096

// fieldSetTable keeps one copy of each distinct managed-fields set (FieldsV1) that
// cached children hold. kubeship's entry on a child lists the fields it applies (names
// and list keys, no values), so the children of every service built alike carry the
// very same bytes: most of a cached child's metadata, once per object. Equal sets share
// one copy instead.
//
// Unlike internStrings' table, this one holds its copies for as long as the process
// runs, so sharing survives garbage collections; a fleet has few shapes, and the bound
// keeps a stream of distinct ones from growing it without end (past it, the table starts
// over, and what children already hold stays valid). A shared copy is never written:
// cached objects are read only, and a deep copy copies the bytes.
type fieldSetTable struct {
	mu   sync.Mutex
	sets map[string][]byte
}

// intern returns the table's copy of raw, adding raw when it is new.
func (t *fieldSetTable) intern(raw []byte) []byte {
	if len(raw) == 0 {
		return raw
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if shared, ok := t.sets[string(raw)]; ok {
		return shared
	}
	if t.sets == nil || len(t.sets) >= maxFieldSets {
		t.sets = map[string][]byte{}
	}
	// One copy serves as the key and, as bytes with no room to append, as the value.
	key := string(raw)
	shared := unsafe.Slice(unsafe.StringData(key), len(key))[:len(key):len(key)]
	t.sets[key] = shared
	return shared
}

// siblingMaps is the cache's table of the string maps of each service's children.
var siblingMaps = newSiblingMapTable()

// maxSiblingMaps bounds the distinct maps held per service.
const maxSiblingMaps = 4

// siblingMapTable lets a service's cached children share their equal string maps. The
// children of one service carry the same labels several times over (each child's, the
// pod template's) and the same selector (the Deployment's, the Service's, the
// disruption budget's): seven maps of two kinds for a plain service, each a few hundred
// bytes, more than the strings in them. Equal maps of one service share one.
//
// The table holds, per service, the last few distinct maps seen (a label that changes
// makes a new one; the oldest is let go, and the objects that hold it keep it), until
// the service is gone (forget). A shared map is never written: cached objects are read
// only, and a deep copy copies the map.
type siblingMapTable struct {
	mu   sync.Mutex
	byMS map[types.NamespacedName][]map[string]string
}

func newSiblingMapTable() *siblingMapTable {
	return &siblingMapTable{byMS: map[types.NamespacedName][]map[string]string{}}
}

// sharer returns the function that shares the maps of ms's children.
func (t *siblingMapTable) sharer(ms types.NamespacedName) func(map[string]string) map[string]string {
	return func(m map[string]string) map[string]string {
		t.mu.Lock()
		defer t.mu.Unlock()
		held := t.byMS[ms]
		for _, h := range held {
			if maps.Equal(h, m) {
				return h
			}
		}
		if len(held) == maxSiblingMaps {
			held = slices.Delete(held, 0, 1)
		}
		// Grown one at a time, so the list is no longer than what it holds.
		t.byMS[ms] = append(slices.Clip(held), m)
		return m
	}
}

// forget lets go of ms's maps (the service is gone).
func (t *siblingMapTable) forget(ms types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byMS = deleteKey(t.byMS, ms)
}

// shareWithSiblings interns a cached child's strings and shares its string maps with
// the other children of its service, which it names in its labels; a child that names
// none only has its strings interned.
func shareWithSiblings(obj any) (any, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return internStrings(obj)
	}
	name := o.GetLabels()[resources.LabelMicroservice]
	if name == "" {
		return internStrings(obj)
	}
	return internAndShare(obj, siblingMaps.sharer(types.NamespacedName{Namespace: o.GetNamespace(), Name: name}))
}
