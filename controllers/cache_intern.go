package controllers

import (
	"reflect"
	"sync"
	"unique"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return obj, nil
	}
	internValue(v.Elem())
	return obj, nil
}

var objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()

// internValue interns every settable string reachable from v without going through an
// interface or an unexported field.
func internValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); s != "" && v.CanSet() {
			v.SetString(unique.Make(s).Value())
		}
	case reflect.Pointer:
		if !v.IsNil() {
			internValue(v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || skipField(t, f.Name) {
				continue
			}
			internValue(v.Field(i))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			internValue(v.Index(i))
		}
	case reflect.Map:
		internStringMap(v)
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
