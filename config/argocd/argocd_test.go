// Package argocd_test runs kubeship's Argo CD health checks and resource
// actions the way Argo CD runs scripts installed through argocd-cm, against
// the cases listed in each kind's health_test.yaml and actions/action_test.yaml.
package argocd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

const group = "apps.kubeship.dev"

// kinds are the folders under group/, in Argo CD's resource_customizations layout.
var kinds = []string{"Microservice", "DatabaseServer"}

// Argo CD replaces any other status with Unknown and its own message, which
// would hide the script's message from users.
var validStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type healthTests struct {
	Tests []struct {
		InputPath    string       `json:"inputPath"`
		HealthStatus healthStatus `json:"healthStatus"`
	} `json:"tests"`
}

// action is the part of Argo CD's ResourceAction a discovery script sets.
type action struct {
	Name        string `json:"name"`
	Disabled    bool   `json:"disabled,omitempty"`
	IconClass   string `json:"iconClass,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

type actionTests struct {
	DiscoveryTests []struct {
		InputPath string   `json:"inputPath"`
		Result    []action `json:"result"`
	} `json:"discoveryTests"`
	ActionTests []struct {
		Action             string `json:"action"`
		InputPath          string `json:"inputPath"`
		ExpectedOutputPath string `json:"expectedOutputPath"`
	} `json:"actionTests"`
}

const restartedAt = "apps.kubeship.dev/restartedAt"

func TestHealth(t *testing.T) {
	for _, kind := range kinds {
		dir := filepath.Join(group, kind)
		script := readFile(t, filepath.Join(dir, "health.lua"))
		var cases healthTests
		readYAML(t, filepath.Join(dir, "health_test.yaml"), &cases)
		assertAllListed(t, dir, cases)

		for _, tc := range cases.Tests {
			t.Run(kind+"/"+tc.InputPath, func(t *testing.T) {
				obj := readObject(t, filepath.Join(dir, tc.InputPath))
				var got healthStatus
				convert(t, fromLua(run(t, script, obj), nil), &got)
				if !validStatuses[got.Status] {
					t.Fatalf("status %q is not one Argo CD accepts", got.Status)
				}
				if got != tc.HealthStatus {
					t.Errorf("got %+v, want %+v", got, tc.HealthStatus)
				}
			})
		}
	}
}

// assertAllListed fails on testdata that no case uses, so a file added without
// its expected health is noticed rather than silently skipped.
func assertAllListed(t *testing.T, dir string, cases healthTests) {
	t.Helper()
	listed := map[string]bool{}
	for _, tc := range cases.Tests {
		listed[filepath.Clean(tc.InputPath)] = true
	}
	files, err := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		if !listed[rel] {
			t.Errorf("%s is not listed in %s/health_test.yaml", f, dir)
		}
	}
}

func TestMicroserviceActions(t *testing.T) {
	dir := filepath.Join(group, "Microservice", "actions")
	var cases actionTests
	readYAML(t, filepath.Join(dir, "action_test.yaml"), &cases)
	if len(cases.DiscoveryTests) == 0 || len(cases.ActionTests) == 0 {
		t.Fatalf("%s/action_test.yaml lists no discovery or action tests", dir)
	}

	discovery := readFile(t, filepath.Join(dir, "discovery.lua"))
	for _, tc := range cases.DiscoveryTests {
		t.Run("discovery/"+tc.InputPath, func(t *testing.T) {
			obj := readObject(t, filepath.Join(dir, tc.InputPath))
			got := discoveredActions(t, fromLua(run(t, discovery, obj), nil))
			want := sortedActions(tc.Result)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}

	for _, tc := range cases.ActionTests {
		t.Run(tc.Action+"/"+tc.InputPath, func(t *testing.T) {
			script := readFile(t, filepath.Join(dir, tc.Action, "action.lua"))
			in := readObject(t, filepath.Join(dir, tc.InputPath))
			want := readObject(t, filepath.Join(dir, tc.ExpectedOutputPath))

			start := time.Now().UTC().Truncate(time.Second)
			got, ok := fromLua(run(t, script, in), in).(map[string]any)
			end := time.Now().UTC()
			if !ok {
				t.Fatal("the action did not return the object")
			}
			assertFreshTimestamp(t, got, start, end)
			// The time cannot match a file; everything else must.
			annotations(got)[restartedAt] = annotations(want)[restartedAt]
			if !reflect.DeepEqual(got, want) {
				t.Errorf("output differs from %s:\ngot:  %s\nwant: %s", tc.ExpectedOutputPath, toJSON(t, got), toJSON(t, want))
			}
		})
	}
}

// assertFreshTimestamp checks the restart annotation holds the time the action
// ran, in the UTC RFC 3339 form Argo CD's own restart actions write.
func assertFreshTimestamp(t *testing.T, obj map[string]any, start, end time.Time) {
	t.Helper()
	stamp, _ := annotations(obj)[restartedAt].(string)
	at, err := time.Parse("2006-01-02T15:04:05Z", stamp)
	if err != nil {
		t.Fatalf("annotation %s = %q: %v", restartedAt, stamp, err)
	}
	if at.Before(start) || at.After(end) {
		t.Errorf("annotation %s = %s, want a time between %s and %s", restartedAt, stamp, start, end)
	}
}

func annotations(obj map[string]any) map[string]any {
	metadata, _ := obj["metadata"].(map[string]any)
	a, _ := metadata["annotations"].(map[string]any)
	return a
}

// discoveredActions reads a discovery result as Argo CD does: a table from
// action name to its options, where an empty table means default options.
func discoveredActions(t *testing.T, result any) []action {
	t.Helper()
	if list, ok := result.([]any); ok && len(list) == 0 {
		return []action{}
	}
	byName, ok := result.(map[string]any)
	if !ok {
		t.Fatalf("discovery returned %T, want a table of actions", result)
	}
	var actions []action
	for name, options := range byName {
		a := action{}
		if _, isMap := options.(map[string]any); isMap {
			convert(t, options, &a)
		}
		a.Name = name
		actions = append(actions, a)
	}
	return sortedActions(actions)
}

func sortedActions(actions []action) []action {
	return slices.SortedFunc(slices.Values(actions), func(a, b action) int { return strings.Compare(a.Name, b.Name) })
}

// TestConfigMapMatchesScripts keeps argocd-cm.yaml, which users install, equal
// to the scripts the other tests run.
func TestConfigMapMatchesScripts(t *testing.T) {
	var cm struct {
		Data map[string]string `json:"data"`
	}
	// Not strict: only data matters here, not the ConfigMap's other fields.
	if err := yaml.Unmarshal([]byte(readFile(t, "argocd-cm.yaml")), &cm); err != nil {
		t.Fatalf("argocd-cm.yaml: %v", err)
	}

	for _, kind := range kinds {
		key := "resource.customizations.health." + group + "_" + kind
		path := filepath.Join(group, kind, "health.lua")
		if cm.Data[key] != readFile(t, path) {
			t.Errorf("argocd-cm.yaml: %s differs from %s", key, path)
		}
	}

	key := "resource.customizations.actions." + group + "_Microservice"
	dir := filepath.Join(group, "Microservice", "actions")
	var actions struct {
		DiscoveryLua string `json:"discovery.lua"`
		Definitions  []struct {
			Name      string `json:"name"`
			ActionLua string `json:"action.lua"`
		} `json:"definitions"`
	}
	if err := yaml.UnmarshalStrict([]byte(cm.Data[key]), &actions); err != nil {
		t.Fatalf("argocd-cm.yaml: %s: %v", key, err)
	}
	if actions.DiscoveryLua != readFile(t, filepath.Join(dir, "discovery.lua")) {
		t.Errorf("argocd-cm.yaml: discovery.lua in %s differs from %s/discovery.lua", key, dir)
	}
	scripts, err := filepath.Glob(filepath.Join(dir, "*", "action.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if len(actions.Definitions) != len(scripts) {
		t.Errorf("argocd-cm.yaml: %s defines %d actions, %s has %d", key, len(actions.Definitions), dir, len(scripts))
	}
	for _, d := range actions.Definitions {
		path := filepath.Join(dir, d.Name, "action.lua")
		if d.ActionLua != readFile(t, path) {
			t.Errorf("argocd-cm.yaml: action %s in %s differs from %s", d.Name, key, path)
		}
	}

	if want := len(kinds) + 1; len(cm.Data) != want {
		t.Errorf("argocd-cm.yaml has %d keys, want %d (the health checks and the actions)", len(cm.Data), want)
	}
}

// run executes script with the global obj set, as Argo CD does, and returns
// the chunk's return value.
func run(t *testing.T, script string, obj map[string]any) lua.LValue {
	t.Helper()
	L := newState()
	defer L.Close()
	// Argo CD gives a script one second; a loop that never ends fails here too.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	L.SetContext(ctx)
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("running script: %v", err)
	}
	return L.Get(-1)
}

// newState opens only what Argo CD opens for scripts from argocd-cm: package,
// base, table, and an os library cut down to time and date. A script that
// reaches for string, math or os.execute fails here as it would in Argo CD.
func newState() *lua.LState {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	libs := []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, lua.OpenOs},
	}
	for _, lib := range libs {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}

	full := L.GetGlobal(lua.OsLibName).(*lua.LTable)
	safe := L.NewTable()
	for _, name := range []string{"time", "date"} {
		safe.RawSetString(name, full.RawGetString(name))
	}
	// Replace both the global and the module cache, so require("os") also
	// gets the safe table.
	L.SetGlobal(lua.OsLibName, safe)
	L.SetField(L.GetField(L.Get(lua.RegistryIndex), "_LOADED"), lua.OsLibName, safe)
	return L
}

// toLua converts a decoded JSON/YAML object into Lua values: objects and
// arrays become tables, numbers become Lua numbers.
func toLua(state *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64: // Argo CD's live objects carry integers as int64.
		return lua.LNumber(v)
	case []any:
		table := state.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(state, item))
		}
		return table
	case map[string]any:
		table := state.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetString(key, toLua(state, item))
		}
		return table
	}
	panic(fmt.Sprintf("toLua: unsupported %T", v))
}

// fromLua converts a script's result back into JSON-like values. A table whose
// keys are exactly 1..n is an array, any other table an object. An empty table
// could be either; like Argo CD, it stays an object where like (the value at
// the same place in the input) was one, and is an array otherwise.
func fromLua(v lua.LValue, like any) any {
	switch v := v.(type) {
	case lua.LBool:
		return bool(v)
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		return string(v)
	case *lua.LTable:
		likeMap, likeIsMap := like.(map[string]any)
		n, isArray := arrayLength(v)
		if isArray && (n != 0 || !likeIsMap) {
			likeArray, _ := like.([]any)
			array := make([]any, n)
			for i := range array {
				var l any
				if i < len(likeArray) {
					l = likeArray[i]
				}
				array[i] = fromLua(v.RawGet(lua.LNumber(i+1)), l)
			}
			return array
		}
		object := map[string]any{}
		v.ForEach(func(key, value lua.LValue) {
			object[key.String()] = fromLua(value, likeMap[key.String()])
		})
		return object
	}
	return nil
}

// arrayLength reports whether the table's keys are exactly 1..n, and n.
func arrayLength(table *lua.LTable) (int, bool) {
	count, highest, integers := 0, 0, true
	table.ForEach(func(key, _ lua.LValue) {
		count++
		n, ok := key.(lua.LNumber)
		if !ok || n < 1 || n != lua.LNumber(int(n)) {
			integers = false
			return
		}
		highest = max(highest, int(n))
	})
	return count, integers && highest == count
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readYAML decodes strictly, so a misspelled key in a test list fails.
func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(readFile(t, path)), into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readObject(t *testing.T, path string) map[string]any {
	t.Helper()
	obj := map[string]any{}
	readYAML(t, path, &obj)
	return obj
}

// convert decodes a JSON-like value into a struct through JSON, as Argo CD
// reads script results.
func convert(t *testing.T, v any, into any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
