package controllers

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The admission rules of API.md live in the CRD (schema and CEL). Each case is sent to
// the real kube-apiserver; rejected ones must fail with a message naming the field.

func manifest(t *testing.T, ns, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("bad test manifest: %v", err)
	}
	if ns != "" {
		u.SetNamespace(ns)
	}
	return u
}

const msHeader = "apiVersion: apps.kubeship.dev/v1alpha1\nkind: Microservice\nmetadata: {name: svc}\n"

func TestAdmissionRejectsInvalidMicroservices(t *testing.T) {
	ns := newNamespace(t)
	cases := []struct {
		name, spec, want string
	}{
		{"missing image", "spec: {}", `spec.image: Required value`},
		{"empty image", `spec: {image: ""}`, `spec.image: Invalid value: "": spec.image in body should be at least 1 chars long`},
		{"image with whitespace", `spec: {image: "nginx latest"}`, `spec.image: Invalid value`},
		{"replicas with scaling", "spec: {image: x, replicas: 2, scaling: {maxReplicas: 3}}", `spec.replicas: Invalid value: spec.replicas and spec.scaling are mutually exclusive`},
		{"minReplicas above maxReplicas", "spec: {image: x, scaling: {minReplicas: 5, maxReplicas: 3}}", `spec.scaling.minReplicas: Invalid value: spec.scaling.minReplicas must be less than or equal to spec.scaling.maxReplicas`},
		{"missing maxReplicas", "spec: {image: x, scaling: {minReplicas: 2}}", `spec.scaling.maxReplicas: Required value`},
		{"negative replicas", "spec: {image: x, replicas: -1}", `spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0`},
		{"port zero", "spec: {image: x, ports: [{name: http, port: 0}]}", `spec.ports[0].port: Invalid value: 0: spec.ports[0].port in body should be greater than or equal to 1`},
		{"port above 65535", "spec: {image: x, ports: [{name: http, port: 65536}]}", `spec.ports[0].port: Invalid value: 65536: spec.ports[0].port in body should be less than or equal to 65535`},
		{"duplicate port names", "spec: {image: x, ports: [{name: http, port: 80}, {name: http, port: 81}]}", `spec.ports[1]: Duplicate value`},
		{"unknown protocol", "spec: {image: x, ports: [{name: http, port: 80, protocol: HTTP}]}", `spec.ports[0].protocol: Unsupported value: "HTTP"`},
		{"unknown engine", "spec: {image: x, database: {engine: mongodb}}", `spec.database.engine: Unsupported value: "mongodb"`},
		{"unknown mode", "spec: {image: x, database: {engine: postgres, mode: clustered}}", `spec.database.mode: Unsupported value: "clustered"`},
		{"unknown deletion policy", "spec: {image: x, database: {engine: postgres, deletionPolicy: Orphan}}", `spec.database.deletionPolicy: Unsupported value: "Orphan"`},
		{"shared without serverRef", "spec: {image: x, database: {engine: postgres, mode: shared}}", `spec.database.serverRef: Invalid value: spec.database.serverRef is required when spec.database.mode is shared`},
		{"serverRef with dedicated", "spec: {image: x, database: {engine: postgres, serverRef: {name: pg}}}", `spec.database.serverRef: Invalid value: spec.database.serverRef is only allowed when spec.database.mode is shared`},
		{"version with shared", "spec: {image: x, database: {engine: postgres, mode: shared, serverRef: {name: pg}, version: '16'}}", `spec.database.version: Invalid value: spec.database.version is only allowed when spec.database.mode is dedicated`},
		{"storage with shared", "spec: {image: x, database: {engine: mysql, mode: shared, serverRef: {name: my}, storage: 1Gi}}", `spec.database.storage: Invalid value: spec.database.storage is only allowed when spec.database.mode is dedicated`},
		{"zero storage", "spec: {image: x, database: {engine: postgres, storage: '0'}}", `spec.database.storage: Invalid value: "0": spec.database.storage must be greater than zero`},
		{"migration without command or args", "spec: {image: x, migration: {env: [{name: A, value: b}]}}", `spec.migration: Invalid value: spec.migration needs command or args`},
		{"migration with an empty command", "spec: {image: x, migration: {command: []}}", `spec.migration.command: Invalid value: 0: spec.migration.command in body should have at least 1 items`},
		{"migration image with whitespace", "spec: {image: x, migration: {image: 'a b', command: [m]}}", `spec.migration.image: Invalid value`},
		{"migration deadline zero", "spec: {image: x, migration: {command: [m], activeDeadlineSeconds: 0}}", `spec.migration.activeDeadlineSeconds: Invalid value: 0`},
		{"migration negative backoffLimit", "spec: {image: x, migration: {command: [m], backoffLimit: -1}}", `spec.migration.backoffLimit: Invalid value: -1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := k8s.Create(context.Background(), manifest(t, ns, msHeader+tc.spec))
			if err == nil {
				t.Fatalf("created; want rejection naming the field: %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\ndoes not contain %q", err.Error(), tc.want)
			}
		})
	}
	t.Run("name longer than 50 characters", func(t *testing.T) {
		u := manifest(t, ns, msHeader+"spec: {image: x}")
		u.SetName(strings.Repeat("a", 51))
		err := k8s.Create(context.Background(), u)
		if err == nil || !strings.Contains(err.Error(), "metadata.name must be at most 50 characters") {
			t.Fatalf("got %v, want a rejection naming metadata.name", err)
		}
	})
	t.Run("name with dots", func(t *testing.T) {
		// A valid object name, but not a valid Service name: refuse it at admission
		// rather than report InvalidSpec after the fact.
		u := manifest(t, ns, msHeader+"spec: {image: x}")
		u.SetName("api.v2")
		err := k8s.Create(context.Background(), u)
		if err == nil || !strings.Contains(err.Error(), "metadata.name must be a DNS label") {
			t.Fatalf("got %v, want a rejection naming metadata.name", err)
		}
	})
}

func TestAdmissionAcceptsEdgeCases(t *testing.T) {
	ns := newNamespace(t)
	cases := []struct{ name, spec string }{
		{"zero replicas", "spec: {image: x, replicas: 0}"},
		{"min equals max", "spec: {image: x, scaling: {minReplicas: 3, maxReplicas: 3}}"},
		{"maxReplicas only", "spec: {image: x, scaling: {maxReplicas: 1}}"},
		{"lowest and highest ports", "spec: {image: x, ports: [{name: low, port: 1}, {name: high, port: 65535, protocol: UDP}]}"},
		{"dedicated defaults", "spec: {image: x, database: {engine: mysql}}"},
		{"dedicated with version and storage", "spec: {image: x, database: {engine: postgres, version: '15', storage: 5Gi, deletionPolicy: Delete}}"},
		{"shared with serverRef", "spec: {image: x, database: {engine: postgres, mode: shared, serverRef: {name: pg}}}"},
		{"image with digest", "spec: {image: 'ghcr.io/acme/a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := manifest(t, ns, msHeader+tc.spec)
			u.SetName("ok-" + string(rune('a'+i)))
			if err := k8s.Create(context.Background(), u); err != nil {
				t.Fatalf("rejected a valid manifest: %v", err)
			}
		})
	}
	t.Run("name of exactly 50 characters", func(t *testing.T) {
		u := manifest(t, ns, msHeader+"spec: {image: x}")
		u.SetName(strings.Repeat("b", 50))
		if err := k8s.Create(context.Background(), u); err != nil {
			t.Fatalf("rejected a 50-character name: %v", err)
		}
	})
}

// update creates the manifest, then changes it with mutate and returns the update's error.
func update(t *testing.T, ns, name, spec string, mutate func(db map[string]any)) error {
	t.Helper()
	ctx := context.Background()
	u := manifest(t, ns, msHeader+spec)
	u.SetName(name)
	if err := k8s.Create(ctx, u); err != nil {
		t.Fatalf("creating: %v", err)
	}
	db, _, _ := unstructured.NestedMap(u.Object, "spec", "database")
	mutate(db)
	if err := unstructured.SetNestedMap(u.Object, db, "spec", "database"); err != nil {
		t.Fatal(err)
	}
	return k8s.Update(ctx, u)
}

func TestAdmissionGuardsDatabaseUpdates(t *testing.T) {
	ns := newNamespace(t)
	const (
		dedicated = "spec: {image: x, database: {engine: postgres, storage: 2Gi}}"
		pg16      = "spec: {image: x, database: {engine: postgres, version: '16'}}"
		shared    = "spec: {image: x, database: {engine: postgres, mode: shared, serverRef: {name: pg}}}"
	)
	rejected := []struct {
		name, spec string
		mutate     func(map[string]any)
		want       string
	}{
		{"engine change", dedicated, func(db map[string]any) { db["engine"] = "mysql" }, `spec.database.engine: Invalid value: "mysql": spec.database.engine is immutable`},
		{"mode change", dedicated, func(db map[string]any) {
			db["mode"] = "shared"
			db["serverRef"] = map[string]any{"name": "pg"}
			delete(db, "storage")
		}, `spec.database.mode: Invalid value: "shared": spec.database.mode is immutable`},
		{"storage shrink", dedicated, func(db map[string]any) { db["storage"] = "1Gi" }, `spec.database.storage: Invalid value: "1Gi": spec.database.storage may grow but never shrink`},
		{"storage removed", dedicated, func(db map[string]any) { delete(db, "storage") }, `spec.database.storage: Invalid value: spec.database.storage cannot be removed once set`},
		{"serverRef change", shared, func(db map[string]any) { db["serverRef"] = map[string]any{"name": "other-pg"} },
			`spec.database.serverRef: Invalid value: spec.database.serverRef is immutable`},
		{"postgres major upgrade 16 to 17", pg16, func(db map[string]any) { db["version"] = "17" },
			`spec.database.version: Invalid value: spec.database.version: 16 to 17 changes the PostgreSQL major version`},
		{"postgres downgrade 16 to 9.6", pg16, func(db map[string]any) { db["version"] = "9.6" },
			`spec.database.version: 9.6 is older than 16; a database cannot be downgraded in place`},
		{"postgres default 16 to 17", dedicated, func(db map[string]any) { db["version"] = "17" },
			`spec.database.version: 16 to 17 changes the PostgreSQL major version`},
		{"postgres 9.5 to 9.6 is a major change", "spec: {image: x, database: {engine: postgres, version: '9.5'}}", func(db map[string]any) { db["version"] = "9.6" },
			`spec.database.version: 9.5 to 9.6 changes the PostgreSQL major version`},
		{"postgres minor downgrade", "spec: {image: x, database: {engine: postgres, version: '16.4'}}", func(db map[string]any) { db["version"] = "16.2" },
			`spec.database.version: 16.2 is older than 16.4`},
		{"postgres version removed after 17", "spec: {image: x, database: {engine: postgres, version: '17'}}", func(db map[string]any) { delete(db, "version") },
			`spec.database.version: 16 is older than 17`},
		{"mysql downgrade", "spec: {image: x, database: {engine: mysql, version: '8.4'}}", func(db map[string]any) { db["version"] = "8.0" },
			`spec.database.version: 8.0 is older than 8.4`},
		{"non-numeric version change", pg16, func(db map[string]any) { db["version"] = "latest" },
			`spec.database.version: cannot tell whether 16 to latest is an upgrade`},
	}
	for i, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			err := update(t, ns, "rej-"+string(rune('a'+i)), tc.spec, tc.mutate)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant a rejection containing %q", err, tc.want)
			}
		})
	}
	accepted := []struct {
		name   string
		mutate func(map[string]any)
	}{
		{"storage grows", func(db map[string]any) { db["storage"] = "3Gi" }},
		{"same storage in other units", func(db map[string]any) { db["storage"] = "2048Mi" }},
		{"deletion policy changes", func(db map[string]any) { db["deletionPolicy"] = "Delete" }},
		{"postgres minor upgrade of the default", func(db map[string]any) { db["version"] = "16.6" }},
		{"postgres same version with a suffix", func(db map[string]any) { db["version"] = "16-alpine" }},
	}
	for i, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			if err := update(t, ns, "acc-"+string(rune('a'+i)), dedicated, tc.mutate); err != nil {
				t.Fatalf("rejected a valid update: %v", err)
			}
		})
	}
	t.Run("mysql minor upgrade", func(t *testing.T) {
		if err := update(t, ns, "acc-mysql", "spec: {image: x, database: {engine: mysql, version: '8.0'}}", func(db map[string]any) { db["version"] = "8.4" }); err != nil {
			t.Fatalf("rejected a valid update: %v", err)
		}
	})
	t.Run("removing the database", func(t *testing.T) {
		ctx := context.Background()
		u := manifest(t, ns, msHeader+pg16)
		u.SetName("acc-removed")
		if err := k8s.Create(ctx, u); err != nil {
			t.Fatalf("creating: %v", err)
		}
		unstructured.RemoveNestedField(u.Object, "spec", "database")
		if err := k8s.Update(ctx, u); err != nil {
			t.Fatalf("rejected removing spec.database: %v", err)
		}
	})
}

func TestAdmissionRejectsInvalidDatabaseServers(t *testing.T) {
	const header = "apiVersion: apps.kubeship.dev/v1alpha1\nkind: DatabaseServer\nmetadata: {name: %s}\n"
	cases := []struct{ name, spec, want string }{
		{"unknown engine", "spec: {engine: oracle, host: h, port: 1, adminSecretRef: {namespace: a, name: b}}", `spec.engine: Unsupported value: "oracle"`},
		{"missing host", "spec: {engine: postgres, port: 5432, adminSecretRef: {namespace: a, name: b}}", `spec.host: Required value`},
		{"port out of range", "spec: {engine: postgres, host: h, port: 70000, adminSecretRef: {namespace: a, name: b}}", `spec.port: Invalid value: 70000`},
		{"missing admin secret", "spec: {engine: mysql, host: h, port: 3306}", `spec.adminSecretRef: Required value`},
		{"unknown ssl mode", "spec: {engine: mysql, host: h, port: 3306, adminSecretRef: {namespace: a, name: b}, sslMode: prefer}", `spec.sslMode: Unsupported value: "prefer"`},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(header, "%s", "bad-"+string(rune('a'+i)), 1) + tc.spec
			err := k8s.Create(context.Background(), manifest(t, "", doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant a rejection containing %q", err, tc.want)
			}
		})
	}
	ok := manifest(t, "", strings.Replace(header, "%s", "shared-pg", 1)+
		"spec: {engine: postgres, host: pg.databases.svc, port: 5432, adminSecretRef: {namespace: databases, name: pg-admin}, allowedNamespaces: {}}")
	if err := k8s.Create(context.Background(), ok); err != nil {
		t.Fatalf("rejected a valid DatabaseServer: %v", err)
	}
	if got, _, _ := unstructured.NestedString(ok.Object, "spec", "sslMode"); got != "require" {
		t.Fatalf("sslMode defaulted to %q, want require", got)
	}
}
